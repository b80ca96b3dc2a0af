// Package sim simulates stacks of radio images of a sky whose truth is
// known, like the LOFAR Radio Sky Monitor (RSM) data that transient
// pipelines are benchmarked on: FITS images per (timestep, beam, band)
// and truth tables in CSV. [Generate] writes a data set described by a
// [Config]; [Preset] gives the tiny, realistic, rsm-mini, rsm, aartfaac-mini
// and aartfaac configurations, and
// [Config.Set] changes any parameter by key (the keys of [Config.Params]).
//
// # Output
//
// Generate(ctx, cfg, DIR, opt) writes
//
//	DIR/images/tTTTT_beamB_bandN.fits  one image per (timestep, beam, band)
//	DIR/truth/params.txt               every parameter as KEY=VALUE
//	DIR/truth/sources.csv              one row per source
//	DIR/truth/images.csv               one row per image
//	DIR/truth/fluxes.csv               one row per (source, image it lies in)
//
// Images are BITPIX -32 with 4 axes (RA---SIN, DEC--SIN, FREQ, STOKES) and
// the keywords TraP's LOFAR accessor reads (SPEC 10.4): BMAJ/BMIN/BPA,
// DATE-OBS, TAU_TIME, TELESCOP, ANTENNA, NCORE, NREMOTE, NINTL, SUBBANDS,
// SUBBANDW, plus SIM* cards (seed, indices, true rms, bad reason). The
// pointing is at the image centre of SPEC 0.1, CRPIX = NAXIS/2 + 1.
//
// Truth columns: sources.csv has source_id, class (steady, variable,
// transient), ra, dec (deg), flux_jy (at ref_freq_hz: the mean of a
// variable, the on-flux of a transient), ref_freq_hz, spectral_index,
// onset_time and end_time (transients: first snapshot on, first snapshot
// off again, RFC 3339; end empty when it stays on), modulation_index (V of
// the light curve over all timesteps), curve (constant, sine,
// random-walk, flare, top-hat), user, beams (the fields whose image holds
// it, ';'-separated). images.csv has image (path relative to DIR), time,
// freq_hz, beam, pointing_ra, pointing_dec, rms_jy (the image's true noise),
// bad (empty, nan-block, rms-blowup or bad-beam), timestep, band,
// bandwidth_hz and the header's bmaj_deg, bmin_deg, bpa_deg. fluxes.csv
// has source_id, image, time, freq_hz, flux_jy (true flux density at that
// time and frequency; 0 for a transient that is off), peak_jy (the peak in
// the image: flux_jy times the primary beam, when that is on), snr
// (apparent peak over rms_jy), x, y (0-based pixel position), pb (the
// primary-beam gain), apparent_jy (flux_jy·pb) and artefacts (true when
// sidelobe residuals and artefacts surround it in that image); with
// pb_corrected, peak_jy is the intrinsic peak. sources.csv ends with
// maj_arcsec, min_arcsec, pa_deg (intrinsic shape of a resolved source,
// 0 for a point source) and circ_pol (circular polarisation V/I, signed).
// With stokes = V the images are Stokes V planes holding each source at
// circ_pol times its Stokes I flux, and fluxes.csv gives those signed
// fluxes. A source is listed for an image when its nearest
// pixel centre lies in the image.
//
// # Sky
//
// Steady sources are drawn uniformly over a cap that holds all fields,
// with integral counts N(>S) ∝ S^-gamma between SteadyFluxMin and
// SteadyFluxMax at SteadyDensity per square degree, and Gaussian spectral
// indices; those on some image or within the painting margin of one are
// kept. Variables (sine, random walk or flares in turn, rescaled to mean 1
// and a modulation index drawn in [ModIndexMin, ModIndexMax]) and
// transients (top-hat light curves starting after the first snapshot;
// SingleFrac of them last one snapshot, SwitchOffFrac of the rest switch
// off later) lie wholly inside some image, IsolationArcmin from each other
// and from steady sources above 0.1 Jy; positions are uniform over the
// union of the fields, so some lie where neighbouring fields overlap.
// User sources come from a CSV file ([ReadSources]).
//
// # Layout of the fields
//
// With 1 or 7 beams the first field is at (CentreRA, CentreDec); the
// others lie on a ring BeamSepDeg from it at position angles 0, 60, ...,
// 300 degrees (the RSM hexagon; 6 beams is the ring alone, as in the RSM
// work units of SPEC 9.2). Pointings are fixed over time (they track the
// sky), so each field is one TraP sky region.
//
// # Noise
//
// Each image's noise is Gaussian with the band's rms (BadRmsFactor times
// it for an rms blow-up) and autocorrelation equal to the restoring beam:
// ρ(Δ) = exp(-½ ΔᵀΣ⁻¹Δ), Σ the beam's covariance in pixels, the usual
// convention that restored-image noise has the beam's correlation length.
// This is white noise convolved with the beam shrunk by √2 (convolving
// with the beam itself would make the correlation √2 wider), done by FFT
// (gonum dsp/fourier) on a grid padded by 3.5 beam semi-major axes to a
// size with factors 2, 3, 5; the white noise is drawn directly in the
// Fourier domain (Hermitian symmetry kept), which saves the forward
// transform. The rms is set by the transfer function's normalisation, so
// it is exact in expectation; a 1280² image's sample rms scatters by ~0.3%.
//
// The same generator serves test kits: [ConvolvedNoise] draws white noise
// convolved with a given kernel (SPEC 10.2 item 9's PSF-correlated noise,
// autocorrelation kernel⋆kernel, rescaled to mean 0 and standard deviation
// 1), and [PaintGaussian] paints a source of any kernels.Beam shape with
// the simulator's painter.
//
// # Images
//
// Sources are painted as the band's restoring beam (a point source's peak
// in Jy/beam is its flux in Jy) at their sub-pixel positions from the
// image's own WCS, sampled at pixel centres, with optional Gaussian primary
// beam attenuation. Bad images (BadImages, after the first timestep) are,
// in turn: a NaN block of three quarters of the image on a side, an rms blow-up, and
// a header BMAJ four times too large (axis ratio > 2, rejected by TraP's
// beam check, SPEC 3.4) over correct pixels.
//
// # Realistic options
//
// Off by default, all on in the realistic preset (docs/simulate.md):
// noise_psf makes the noise autocorrelation a real PSF (the embedded
// psf_lofar.bin, derived from a WSClean dirty beam by testdata/genpsf.go,
// or a FITS file) scaled onto each band's beam, through the same FFT
// filter with H = sqrt(max(0, PSF transform)); pb_corrected divides the
// image by the primary beam (noise rising as 1/PB); extended_frac makes
// steady sources resolved Gaussians (the beam convolved with their
// shape, same painter); around sources of apparent SNR >= bright_snr,
// sidelobe_frac of the peak times (PSF − beam), turned by a random angle
// per image, and ring and spoke artefacts of artefact_frac of the peak
// with random phases. Their draws come from their own streams
// (streamExtended, streamArtefact + image index).
//
// [NoiseACF] and [CountNearBright] give the figures of gotrap simulate
// --check: the noise autocorrelation of an image with sources masked, and
// detections near bright sources.
//
// # Determinism
//
// All randomness comes from math/rand/v2 PCG streams of Config.Seed: one
// stream per sky component and one per image, numbered by the image's
// index (timestep, then beam, then band). An image therefore depends on
// the seed and its index only, and the same Config gives byte-identical
// files with any number of workers. Truth tables print floats with fixed
// precision.
//
// # Concurrency, memory and files
//
// Generate makes Options.Workers images at once, each worker with its own
// FFT plans and buffers (about 5 planes of the image size, 40 MB at
// 1280²), plus the per-band noise filters shared read-only; images stream
// to disk as they are made. Every file is written to a temporary name in
// its directory and renamed when complete. Generate does not clear DIR.
//
// # Errors
//
// Invalid configurations, unreadable user sources and I/O failures return
// errors naming the parameter or file. Internal shape mismatches panic
// with messages starting "sim:".
package sim
