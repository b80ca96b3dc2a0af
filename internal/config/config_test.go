package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultIsTraP(t *testing.T) {
	e := Default().Extraction
	// SPEC 4.1 "TraP job default" column and the SPEC decisions.
	if e.DetectionThreshold != 8 || e.AnalysisThreshold != 3 || e.BackSizeX != 50 || e.BackSizeY != 50 ||
		e.Margin != 10 || e.ExtractionRadiusPix != 0 || !e.ForceBeam || e.Mode != "gaussian" ||
		e.BackgroundEdge != "hold" || e.BoxInBeamPix != 10 || e.EwSysErr != 10 || e.NsSysErr != 10 {
		t.Errorf("defaults %+v", e)
	}
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	src := `# SPEC 10.1 config.toml, in gotrap's names
[extraction]
detection_threshold = 10
analysis_threshold = 3.5
back_size_x = 32
back_size_y = 32
margin = 0
force_beam = false
mode = "moments"
background_edge = "pyse"
`
	c, err := Parse("job.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultExtraction()
	want.DetectionThreshold, want.AnalysisThreshold = 10, 3.5
	want.BackSizeX, want.BackSizeY, want.Margin = 32, 32, 0
	want.ForceBeam, want.Mode, want.BackgroundEdge = false, "moments", "pyse"
	if c.Extraction != want {
		t.Errorf("got %+v\nwant %+v", c.Extraction, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		src      string
		sentinel error
		want     string // substring of the message
	}{
		{"[extraction]\ndetection_threshold = 5\ndetecton_threshold = 6\n", ErrUnknownKey, `job.toml:3: "extraction.detecton_threshold"`},
		{"[extraction]\n\n[pipelin]\nx = 1\n", ErrUnknownKey, `job.toml:3: "pipelin"`},
		{"extraction.margin = 3\nextraction.foo = 1\n", ErrUnknownKey, `job.toml:2: "extraction.foo"`},
		{"[extraction]\nmargin = \"ten\"\n", ErrSyntax, "job.toml"},
		{"[extraction\n", ErrSyntax, "end table name"},
		{"[extraction]\nmode = \"fit\"\n", ErrInvalid, "extraction.mode"},
		{"[extraction]\nback_size_x = 0\n", ErrInvalid, "extraction.back_size_x"},
		{"[extraction]\ndetection_threshold = nan\n", ErrInvalid, "detection_threshold"},
		{"[extraction]\nfdr = true\nfdr_alpha = 1.5\n", ErrInvalid, "fdr_alpha"},
		{"[extraction]\ndeblend_nthresh = 301\n", ErrInvalid, "deblend_nthresh"},
	} {
		_, err := Parse("job.toml", []byte(tc.src))
		if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %v containing %q", tc.src, err, tc.sentinel, tc.want)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	c := Default()
	c.Extraction.DetectionThreshold = 5.123456789012345
	c.Extraction.FDR = true
	c.Extraction.Threads = 3
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	got, err := Parse("rt.toml", b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\n%+v\n%+v", got, c)
	}
}

// FuzzParse checks that no input panics, that accepted configurations are
// valid, and that they survive Encode -> Parse unchanged and encode
// deterministically.
func FuzzParse(f *testing.F) {
	f.Add([]byte("[extraction]\ndetection_threshold = 6\nmode = \"moments\"\n"))
	f.Add([]byte("extraction.margin = 0\n"))
	f.Add([]byte("[extraction]\nfoo = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
		var b1, b2 bytes.Buffer
		if err := c.Encode(&b1); err != nil {
			t.Fatal(err)
		}
		if err := c.Encode(&b2); err != nil || !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatalf("encoding is not deterministic")
		}
		back, err := Parse("rt.toml", b1.Bytes())
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip: %v\n%s", err, b1.String())
		}
	})
}

// TestParseChannels: the forms of [pipeline] channels, and the refused
// ones, whose errors say what is wrong; channel and channels exclude each
// other, and circular_polarisation wants a Stokes I run.
func TestParseChannels(t *testing.T) {
	for _, c := range []struct {
		in          string
		first, last int
		err         string
	}{
		{"", 0, 0, ""},
		{"all", 1, 0, ""},
		{" ALL ", 1, 0, ""},
		{"3", 3, 3, ""},
		{"2-5", 2, 5, ""},
		{"2-", 2, 0, ""},
		{"0", 0, 0, "not a channel number"},
		{"5-2", 0, 0, "empty"},
		{"a-b", 0, 0, "not a channel number"},
		{"-3", 0, 0, "not a channel number"},
	} {
		t.Run(c.in, func(t *testing.T) {
			f, l, err := ParseChannels(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || f != c.first || l != c.last {
				t.Errorf("got %d, %d, %v; want %d, %d", f, l, err, c.first, c.last)
			}
		})
	}
	p := DefaultPipeline()
	p.Channel, p.Channels = 2, "all"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "give one of them") {
		t.Errorf("channel with channels: error %v", err)
	}
	// circular_polarisation is for Stokes I runs.
	for _, c := range []struct {
		stokes string
		ok     bool
	}{{"", true}, {"i", true}, {"V", false}, {"RR", false}} {
		p := DefaultPipeline()
		p.CircularPolarisation, p.Stokes = true, c.stokes
		if err := p.Validate(); (err == nil) != c.ok {
			t.Errorf("circular_polarisation with stokes %q: error %v, want ok %v", c.stokes, err, c.ok)
		}
	}
}
