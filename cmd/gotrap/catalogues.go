//go:build !front

package main

import (
	"strings"

	"gotrap/internal/pipeline"
)

// catalogueInputs applies --catalogues (spec "", "auto" or @LIST) to the
// expanded inputs: it returns the inputs (with @LIST's images appended,
// once each) and the map image -> catalogue (nil without --catalogues).
func catalogueInputs(spec string, inputs []string) ([]string, map[string]string, error) {
	switch {
	case spec == "":
		return inputs, nil, nil
	case spec == "auto":
		return inputs, pipeline.CataloguesBeside(inputs), nil
	case strings.HasPrefix(spec, "@"):
		images, cats, err := pipeline.ReadCatalogueList(spec[1:])
		if err != nil {
			return nil, nil, err
		}
		seen := map[string]bool{}
		for _, in := range inputs {
			seen[in] = true
		}
		for _, img := range images {
			if !seen[img] {
				inputs = append(inputs, img)
				seen[img] = true
			}
		}
		return inputs, cats, nil
	}
	return nil, nil, usageError("--catalogues %q: want auto or @LIST (a file of IMAGE CATALOGUE lines)", spec)
}
