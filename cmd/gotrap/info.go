package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"gotrap/internal/fitsimg"
)

func init() {
	register(&command{
		name:  "info",
		usage: "[--json] [--plane N] [--stokes S] [--channel N] [--beam BMAJ,BMIN,BPA] FILE...",
		short: "print the metadata of images (FITS files, CASA image directories)",
		long: `
For each image (a FITS file or a CASA image directory; docs/inputs.md),
print what gotrap reads from its header: size, frequency
and bandwidth, start time and integration time, telescope, restoring beam (in
degrees and in pixels), pixel scale, the sky position of the image centre and
the LOFAR keywords. Only headers are read, not pixels.

Without --json, each file gets an aligned text block. With --json, each file
gets one JSON object on one line (JSON Lines: pipe it to 'jq' or read it with
pandas.read_json(..., lines=True)). Its keys include naxis1, naxis2,
freq_eff_hz, freq_bw_hz, taustart (RFC 3339, UTC), tau_time_s, telescope,
beam_deg {bmaj, bmin, bpa}, beam_px {smaj, smin, theta_rad}, pixel_scale_deg,
centre_ra and centre_dec (degrees). taustart_known is false when the header
has no start time (taustart is then 0001-01-01T00:00:00Z), and *_from keys
name the keyword each value came from.

A file that cannot be read gets one line on stderr, "gotrap info: FILE:
reason"; the other files are still printed, and the exit status is 1.

Examples:
  gotrap info ../shared/data/GRB120422A-120429.fits
  gotrap info --json ../shared/data/*.fits | jq .freq_eff_hz
  gotrap info --beam 0.015,0.0068,5 image.fits    # override a missing beam`,
		setFlags: func(fs *flag.FlagSet) {
			infoFlags = infoFlagValues{}
			fs.BoolVar(&infoFlags.json, "json", false, "print one JSON object per file, one per line")
			fs.IntVar(&infoFlags.plane, "plane", 0, "plane of a cube to describe (index over axes 3..N, axis 3 fastest)")
			fs.StringVar(&infoFlags.stokes, "stokes", "", "polarisation `S` (I, V, RR, ...) of a cube with a STOKES axis")
			fs.IntVar(&infoFlags.channel, "channel", 0, "channel `N` (1-based) of a cube with a frequency axis")
			fs.StringVar(&infoFlags.beam, "beam", "", "restoring beam `BMAJ,BMIN,BPA` in degrees, overriding the header")
		},
		run: runInfo,
	})
}

// infoFlagValues holds the flags of gotrap info, set by setFlags for each
// run.
type infoFlagValues struct {
	json  bool
	plane int
	beam  string
	// stokes and channel choose the plane by polarisation and channel.
	stokes  string
	channel int
}

var infoFlags infoFlagValues

func runInfo(env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return usageError("no FITS file or CASA image given")
	}
	if infoFlags.plane < 0 {
		return usageError("--plane %d: must be 0 or more", infoFlags.plane)
	}
	if infoFlags.channel < 0 {
		return usageError("--channel %d: channels count from 1", infoFlags.channel)
	}
	opts := fitsimg.Options{Plane: infoFlags.plane, Stokes: infoFlags.stokes, Channel: infoFlags.channel}
	if infoFlags.beam != "" {
		b, err := parseBeam(infoFlags.beam)
		if err != nil {
			return usageError("%v", err)
		}
		opts.Beam = b
	}
	enc := json.NewEncoder(env.stdout)
	failed, printed := 0, 0
	for _, path := range args {
		m, err := fitsimg.ReadMeta(path, opts)
		if err != nil {
			failed++
			fmt.Fprintf(env.stderr, "gotrap info: %s: %s\n", path, reason(err))
			continue
		}
		if infoFlags.json {
			if err := enc.Encode(m); err != nil {
				return err
			}
			continue
		}
		if printed > 0 {
			fmt.Fprintln(env.stdout)
		}
		describe(env.stdout, m)
		printed++
	}
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// reason returns the problem of a fitsimg error without the package and
// file prefix (the caller prints the file).
func reason(err error) string {
	var fe *fitsimg.Error
	if errors.As(err, &fe) {
		return fe.Err.Error()
	}
	return err.Error()
}

// parseBeam parses "BMAJ,BMIN,BPA" in degrees.
func parseBeam(s string) (*fitsimg.Beam, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return nil, fmt.Errorf("--beam %q: want BMAJ,BMIN,BPA in degrees", s)
	}
	var v [3]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("--beam %q: %q is not a number", s, p)
		}
		v[i] = f
	}
	if v[0] <= 0 || v[1] <= 0 {
		return nil, fmt.Errorf("--beam %q: BMAJ and BMIN must be positive", s)
	}
	return &fitsimg.Beam{BMaj: v[0], BMin: v[1], BPA: v[2]}, nil
}

// describe writes the text block of one image.
func describe(w io.Writer, m *fitsimg.Meta) {
	line := func(label, format string, a ...any) {
		fmt.Fprintf(w, "  %-15s %s\n", label, fmt.Sprintf(format, a...))
	}
	fmt.Fprintln(w, m.Path)
	axes := make([]string, len(m.Axes))
	for i, n := range m.Axes {
		axes[i] = strconv.Itoa(n)
	}
	line("size", "%d x %d pixels (BITPIX %d, axes %s, plane %d of %d, Stokes %s)",
		m.Naxis1, m.Naxis2, m.Bitpix, strings.Join(axes, "x"), m.Plane, m.Planes, m.Stokes)
	tel := m.Telescope
	if tel == "" {
		tel = "(unknown)"
	}
	line("telescope", "%s", tel)
	line("frequency", "%.6f MHz, bandwidth %.9g MHz (from %s)", m.FreqEff/1e6, m.FreqBW/1e6, m.FreqFrom)
	if m.TimeKnown {
		line("start", "%s (from %s, TIMESYS %s)", m.TauStart.Format(time.RFC3339Nano), m.TimeFrom, m.TimeSys)
	} else {
		line("start", "unknown (no DATE-OBS, DATE-BEG, MJD-OBS or MJD-BEG)")
	}
	tau := "0 s (unknown)"
	if m.TauFrom != "" {
		tau = fmt.Sprintf("%g s (from %s)", m.TauTime, m.TauFrom)
	}
	line("integration", "%s", tau)
	line("beam", "BMAJ %.6g\" BMIN %.6g\" BPA %.6g deg (from %s)",
		m.Beam.BMaj*3600, m.Beam.BMin*3600, m.Beam.BPA, m.BeamFrom)
	line("beam (pixels)", "semi-axes %.6f x %.6f px, theta %.7f rad",
		m.BeamPx.SMaj, m.BeamPx.SMin, m.BeamPx.Theta)
	line("pixel scale", "%.10g deg (%.6g\")", m.PixelScale, m.PixelScale*3600)
	line("centre", "RA %.7f  Dec %.7f deg (pixel %g, %g; projection %s)",
		m.CentreRA, m.CentreDec, float64(m.Naxis1)/2, float64(m.Naxis2)/2, m.WCS.Projection())
	if m.LOFAR {
		opt := func(p *int) string {
			if p == nil {
				return "?"
			}
			return strconv.Itoa(*p)
		}
		sbw := "?"
		if m.SubbandW != nil {
			sbw = fmt.Sprintf("%g Hz", *m.SubbandW)
		}
		line("LOFAR", "antenna set %s, stations %s core + %s remote + %s international, %s subbands of %s",
			m.AntennaSet, opt(m.NCore), opt(m.NRemote), opt(m.NIntl), opt(m.Subbands), sbw)
	} else {
		line("LOFAR", "no")
	}
}
