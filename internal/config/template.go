package config

// Template returns the commented job configuration "gotrap init" writes:
// every section and key with its default (Parse(Template()) equals
// Default(), tested), TraP's job_params name where it differs, and the
// user documentation (docs/) that explains it. Delete what you do not
// change. Its comments are user-facing: they cite docs/, never SPEC.
func Template() string { return template }

const template = `# gotrap job configuration (TOML). Every value below is the default:
# TraP's job defaults with gotrap's decisions (docs/decisions.md); the
# definitions are in docs/science.md. Keep only what you change; unknown keys
# are errors.
# Use: gotrap run --out RUN -c gotrap.toml @images.txt

[pipeline]
# Images extracted or force-fitted at once (0: one per CPU Go may use). Does
# not change the catalogue.
workers = 0
# Images whose start times (DATE-OBS) differ by at most this many seconds
# from the first image of a timestep share it (0 = TraP's exact
# equality).
timestep_tolerance = 1.0
# Image plane of cubes, a flat index over axes 3, 4, ... (0: Stokes I,
# first channel).
plane = 0
# Polarisation to read from cubes with a STOKES axis ("I", "V", "RR", ...;
# "" = as plane says) and channel (1-based; 0 = as plane says): they replace
# plane's index along those axes (docs/inputs.md).
stokes = ""
channel = 0
# Several channels of each cube in one run, each its own image and band:
# "all", "N", "N-M" or "N-" (to the last), counted from 1; "" = the one
# plane the settings above choose. Not with channel (docs/inputs.md).
channels = ""
# In a Stokes I run, also force-fit every associated measurement in the
# Stokes V plane of its image file: RUN/circpol.parquet (docs/catalog.md).
circular_polarisation = false
# Side in degrees of the sky tiles over which runs on several ranks share
# the association (0: rank 0 associates alone). Does not change the
# catalogue.
tile_deg = 1.0
# Images each rank extracts ahead of the image it associates (0: one per
# worker, fewer when a quarter of the memory allowance cannot hold them).
# A rank holds in memory the image it associates, these, and those being
# fitted (one per worker). Does not change the catalogue.
lookahead = 0
# Memory allowance of the process (each MPI rank; in-process ranks share
# it), e.g. "8GiB" or "6000MB": Go's soft memory limit and DuckDB's
# memory_limit are 3/4 of it. "" = Slurm's allowance, else the cgroup's
# limit, else none. gotrap run --memory overrides it.
memory = ""

[extraction]
# Source finding (PySE; docs/science.md). Thresholds are in units of the local rms.
detection_threshold = 8.0      # an island's peak must exceed this
analysis_threshold = 3.0       # island pixels are above this
back_size_x = 50               # background/rms grid cell, px
back_size_y = 50
margin = 10                    # masked border, px (0: none)
extraction_radius_pix = 0.0    # mask beyond this radius from the centre, px (0: off; TraP 250)
deblend_nthresh = 0            # deblending levels (0: off)
deblend_mincont = 0.005
force_beam = true              # fit the peak and position only, shape = beam
mode = "gaussian"              # "gaussian" (TraP) or "moments" (PySE's vectorized)
background_edge = "hold"       # "hold" (gotrap) or "pyse" (PySE's maps outside the grid frame)
remove_edge_sources = true
rms_filter = 0.001
median_filter = 0
mf_threshold = 0.0
fdr = false                    # False Detection Rate thresholds
fdr_alpha = 0.01
box_in_beampix = 10.0          # forced-fit box side, beam semi-major axes
ew_sys_err = 10.0              # systematic position errors, arcsec
ns_sys_err = 10.0
eps_ra = 0.0                   # deg
eps_dec = 0.0
clean_bias = 0.0
clean_bias_error = 0.0
frac_flux_cal_error = 0.0
alpha_maj1 = 2.5               # NVSS error exponents (Condon 1997)
alpha_maj2 = 0.5
alpha_min1 = 0.5
alpha_min2 = 2.5
alpha_brightness1 = 1.5
alpha_brightness2 = 1.5
error_model = "gotrap"         # "pyse": PySE's errors also for force_beam and forced fits (docs/variability.md)
threads = 0                    # goroutines per image (0: CPUs / workers)

[quality]
# Image quality control (docs/qc.md), checks in TraP's order; each can be
# switched off. TraP's [quality_lofar] and [persistence] keys.
check_flat = true
check_nan = true
max_nan_fraction = 0.5         # gotrap: reject when more pixels than this are NaN
check_tau_time = true          # LOFAR images
check_noise = true             # LOFAR images: rms_qc within [low, high] x theoretical noise
low_bound = 1.0
high_bound = 80.0
check_beam = true
oversampled_x = 30.0           # px
elliptical_x = 2.0
check_bright_sources = true    # LOFAR images: A-team, Sun, Jupiter
min_separation = 10.0          # deg
check_rms_range = true
rms_est_min = 0.0              # Jy
rms_est_max = 100.0
check_rms_history = true       # against the last rms_est_history accepted images of the band
rms_est_history = 100
rms_rej_sigma = 3.0
rms_est_sigma = 4.0            # rms_qc clipping (docs/qc.md)
rms_est_fraction = 8

[association]
# Source association (De Ruiter radius: docs/science.md).
deruiter_radius = 5.68         # strict limit on the De Ruiter radius
beamwidths_limit = 3.0         # search radius in restoring-beam semi-major axes
bandwidth_max = 0.0            # Hz; when not 0, replaces the image bandwidth in band matching

[forced_fits]
# Null detections (forced fits; TraP's source_extraction.expiration).
expiration = 10                # forced fits in a row without a detection before a source is dropped
backward = false               # also fit each source in the images before its first detection (VAST style)

[transient_search]
new_source_sigma_margin = 1.0  # m in rms x (detection_threshold + m) (docs/science.md)

[monitor]
# Monitoring list: positions fitted in every image, degrees.
# "gotrap run --monitor RA,DEC" and --monitor-file add to it.
positions = []                 # e.g. [[150.0, 52.9], [149.5, 53.1]]
file = ""                      # lines of "RA DEC"

[variability]
# Flux errors of the variability statistics (docs/variability.md).
flux_error_floor = 0.0         # fraction of the flux added in quadrature to each point's errors

[catalog]
# Source names "PREFIX Jhhmmss.s+ddmmss" (docs/catalog.md), in gotrap query and the report.
name_prefix = "GTR"            # a letter, then up to 15 letters, digits, '_' or '-'

[watch]
# Live mode: how gotrap watch takes files and closes timesteps (docs/live.md).
settle = 2.0                   # s: a file not renamed into place is taken when unchanged this long
poll_interval = 1.0            # s: listing period when polling (--poll, or no inotify)
images_per_timestep = 0        # close a timestep when this many images are in (0: learn from the first two)
timeout = 120.0                # s: close a timestep this long after its last image (0: never)

[events]
# What counts as an event (RUN/events.parquet; docs/responses.md). Each is
# computed from the data up to and including its own timestep.
rise_sigma = 5.0               # rise/drop: a point beyond n sigma of the weighted mean of the earlier points
min_points = 3                 # earlier points of a light curve before rise, drop, high and low events
variability_alpha = 0.01       # variable: the variables query's cut at each timestep (docs/variability.md)
variability_v_min = 0.1
monitor_sigma = 5.0            # monitor: a monitor fit with f_int / f_int_err at least this
spectral_flat = -0.5           # spectral index across the bands of a timestep: flat above,
spectral_steep = -1.2          # steep below,
spectral_sigma = 3.0           # by this many standard errors
known_file = ""                # CSV of known sources: RA,DEC,RADIUS in degrees

[responses]
# Shared settings of the [[response]] rules (docs/responses.md).
authority = "gotrap.invalid"   # VOEvent IVORNs are ivo://AUTHORITY/STREAM#ID
stream = "trap"
contact = "gotrap"
smtp_host = "localhost"        # mail server of the email action
smtp_port = 25
smtp_tls = "starttls"          # "starttls" (when offered), "required" or "none"
smtp_ca_file = ""              # PEM of the CAs trusted for STARTTLS ("" = the system's)
smtp_user = ""                 # when set, authenticate with the password in $smtp_password_env
smtp_password_env = ""
email_from = "gotrap@localhost"
link_base = ""                 # URL of the run directory, for light-curve links
retries = 2                    # retries of a failed delivery within a call (then at the next call)
retry_backoff = "1s"           # wait before the first retry, doubled for each next one
timeout = "10s"                # per delivery attempt

# Rules: one [[response]] table each. "when" is a SQL condition over the
# columns of events.parquet; actions are voevent, email, webhook, exec.
# [[response]]
# name = "new-transients"
# when = "type = 'new_source' AND newsource_type = 1 AND significance > 10"
# actions = ["voevent", "email", "webhook"]
# brokers = ["tcp:127.0.0.1:8098"]     # VOEvent brokers (VTP)
# role = "test"                        # "observation" when the world may act on it
# email_to = ["swg@example.org"]
# webhooks = ["https://chat.example.org/hooks/abc"]
# exec = ["/usr/local/bin/trigger", "--dry-run"]   # event JSON on stdin
# rate_limit = 0                       # at most this many deliveries per rate_period (0: no limit)
# rate_period = "1h"
# dedup_window = "0s"                  # one event per source within this window
# quiet = false                        # log matches without delivering them
`
