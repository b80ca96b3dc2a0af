// Package bench is gotrap's end-to-end benchmark harness: synthetic
// images of known content, timed stage by stage, reported as text.
//
// # Extraction
//
// Extract times the source finder (internal/extract) on images of
// PSF-correlated unit noise with a regular grid of point sources at the
// density of the LOFAR RSM images (about 300 per Mpixel: 500 per 1280x1280),
// written to FITS and read back, so the numbers include decoding. Each
// stage is timed on one core (threads = 1) in the steady state of a
// pipeline worker: one extract.Worker is warmed up on the image and then
// extracts it Repeats times, and each stage's time is the median over the
// repeats of the time the stage itself reports: decode (FITS read from the
// page cache into the worker's reused image), rms_qc, mask,
// background grids, maps (the fused pixel pass: interpolated background
// and rms, D, candidate flags and runs), labelling (union-find,
// acceptance, label painting), and measurement. The total is the median
// of the whole File call. Speeds are Mpixel/s per core. The same is run
// with two threads, whose median wall time is reported beside. Memory is
// the bytes allocated during one extraction by a fresh worker with the
// collector off, per pixel, beyond the image: an upper bound of the peak
// heap growth. ExtractStat runs SPEC 10.2 item 9's statistical regression at a
// given size and reports its numbers.
//
// # Against PySE (pyse.go)
//
// ExtractPySE times PySE (the reference, run from its source tree as
// ../shared/tools/setup_pyse.sh sets it up, never copied) and gotrap on
// the same synthetic images in one run. PySE runs in one Python process
// (the embedded pyse_driver.py, driven by one JSON job per line on stdin)
// with numba, OpenMP and BLAS on one thread and its fitting pool of one
// worker; gotrap runs in this process on one extraction thread under
// GOMAXPROCS 1. Per image each side opens and reads the FITS file,
// extracts and writes its outputs (PySE: its CSV and region writers;
// gotrap: the command's CSV, Parquet and region writers, passed in as
// PySEConfig.Write). Both use gotrap's default settings (TraP's); free
// Gaussian fits (force_beam off) on both sides in gaussian mode, and
// gotrap's moments against PySE's vectorised mode in moments mode. After
// one untimed run per side (numba compiles, the page cache warms), each
// side runs Repeats times; medians of wall and CPU time (getrusage; in
// Python time.process_time) are reported with PySE's over gotrap's. The
// sides take turns per size and mode, so they share the machine's load.
//
// # Errors
//
// I/O failures are returned; nothing here panics on valid configurations.
//
// # End-to-end pipeline (pipeline.go, report.go)
//
// Pipeline measures "gotrap run" as users run it: a child process of a
// given gotrap binary over a simulated dataset, generated once with
// "gotrap simulate --preset NAME" into a cache directory named by preset,
// seed and overrides (DatasetDir; a bench-ready file marks it complete)
// and reused afterwards; generation is never timed. While the run goes,
// the process tree is sampled in /proc every 50 ms (utime+stime, VmRSS,
// VmHWM, /proc/PID/io); the root is waited for with waitid(WNOWAIT) so its
// final counters are read before it is reaped, and getrusage then gives
// the exact totals, to which the samples are scaled. Each stage of the
// run's manifest.json (plan, extract, forced, associate, catalogue, with
// their start and end times) gets its wall time from the manifest and its
// CPU time from the samples interpolated at those times; "other" is what
// is left (process start, configuration, the gaps between stages, the
// summary). The named queries ("gotrap query RUN NAME") and the report
// ("gotrap report RUN") are timed as separate processes after the run.
//
// The result (PipelineResult) is written as bench.json and as markdown
// tables (WriteMarkdown) that put the rates next to TraP's published
// record (3402 RSM images in 321 s on 36 cores: 0.294 images/s per core)
// and PySE's extraction speed (1.4 Mpixel/s per core in Gaussian-fit
// mode). Compare prints the ratios of two results. Rates per core divide
// by every CPU of the machine (runtime.NumCPU), whether or not the run
// could use them all; the load average before and after is recorded
// because the machine may be shared.
//
// # Live mode (replay.go, live.go)
//
// Replay writes a simulated stack into a directory timestep by timestep
// at a cadence, as an imager would (temporary name, then rename; some
// images slowly in place), looping it with DATE-OBS moved on when a
// duration is given, and records when each timestep's last image landed.
// Live runs "gotrap watch" on that directory as a child process (sampled
// in /proc like Pipeline's runs, stopped with SIGTERM), reads the
// engine's RUN/logs/commits.jsonl (watch.ReadCommits) and reports the sustained
// rate, the latency percentiles from landing to commit and to VOEvents
// (Latencies: nearest rank), RSS over time and the bytes of RUN/work and
// of the catalogue per committed timestep (docs/live.md).
package bench
