// Package watch holds the parts of live mode (gotrap watch) beside the
// engine: a Follower that finds complete image files in directories, a
// Closer that groups them into timesteps and says when each is closed,
// and the Status of a live run (RUN/status.json and a status line).
// docs/live.md describes the behaviour for users. The engine calls this
// package; it imports nothing of the pipeline.
//
// # Following
//
// Follow watches directories (not their subdirectories) with inotify
// (github.com/fsnotify/fsnotify), or lists them every Options.Interval
// when Options.Poll is set or inotify cannot be had (logged). It yields
// each file once, in the order files became complete:
//
//   - a file renamed into place inside a followed directory (inotify's
//     IN_MOVED_FROM then IN_MOVED_TO of the new name) is complete at once;
//   - any other file (written in place, copied, moved in from another
//     directory, or any file when polling) is complete when its size and
//     modification time have stayed the same, and not zero, for
//     Options.Settle (checked every Settle/4, at most Interval).
//
// Files already present when following starts are yielded too, first:
// a file whose modification time is older than Settle is complete (it
// counts as watched since then), and those are taken before any event. Only image names are taken (fitsimg.IsImageName: .fits,
// .fit, .fts, optionally .gz or .fz, any case); hidden names (".x") and
// temporary names (*.tmp, *.part, *.partial) never are. CASA image
// directories are not followed: a directory appearing is ignored. A name
// is taken once: a file renamed over one already taken is logged and
// ignored; a name removed and created again is a new file. The Follower
// remembers the names taken while they exist, so its memory is that of
// the directories' listing.
//
// # Closing timesteps
//
// A Closer is fed (file, start time) pairs in arrival order (the caller
// reads the header). Start times within Tolerance of a timestep's
// earliest start are one timestep, as in the pipeline's plan (pass the
// job's pipeline.timestep_tolerance). One timestep is open at a time; it
// closes when an image of a later timestep arrives, when it holds the
// expected number of images (configured, or learned when the first Learn
// closed timesteps agree), or Timeout after its last image (Tick, at
// Deadline). An image of a closed timestep, or older than the open one,
// is returned as Late, for the caller to log and record. The clock is
// injected (Closer.Now), so the rules are tested without sleeping.
//
// # Status
//
// A Tracker counts images in, late and bad images, committed timesteps, the lag
// (age of the oldest image neither committed nor late) and the rate
// (images per second over the last minute). WriteStatus writes it as
// RUN/status.json atomically, not synced (rundir.WriteStaged); Printer
// writes its line: rewritten in place on a terminal, a timestamped log
// line otherwise.
//
// # Commits log
//
// After each commit the engine appends a Commit (timestep index, images,
// start time, commit and VOEvent times in unix nanoseconds) as one JSON
// line to RUN/logs/commits.jsonl with AppendCommit; ReadCommits parses
// the log (a last line still being written is left out). gotrap bench
// live measures latencies from it.
//
// # Concurrency and errors
//
// A Follower runs one goroutine, which ends (closing Files) with the
// context given to Follow. A Closer is not safe for concurrent use; a
// Tracker is. Follow fails on a directory that cannot be read; later
// listing and inotify errors are logged and followed by a new listing.
package watch
