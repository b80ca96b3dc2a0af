//go:build !linux

package fitsimg

func willNeed(string, int64, int64) {}
