//go:build !linux

package fitsimg

import "os"

func willNeed(string, int64, int64) {}

func adviseRandom(*os.File) {}
