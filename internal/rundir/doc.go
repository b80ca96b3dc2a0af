// Package rundir owns the run directory (RUN/): where each of its files
// lives, the manifest and commit record, and the safety rules that every
// writer shares. It imports nothing of gotrap's, so every package can use
// it (catalog, the pipeline, respond, report, the command).
//
// # Layout
//
// Every path of RUN/ comes from a function of this package; no other
// package spells a name of RUN/.
//
//	RUN/
//	  gotrap.toml              ConfigPath: the job configuration used
//	  manifest.json            ManifestPath: version, inputs, config hash, stages (Manifest)
//	  inputs.jsonl             InputsLogPath: a live run's inputs, one entry a line (Manifest.InputsLog)
//	  TABLE.parquet            TablePath: a catalogue table written as one file
//	  TABLE/STAGE-00000.parquet  TablePartPath: a part a stage adds beside it
//	  TABLE/rank=RRRR/STAGE-SSSSS.parquet  PartPath: a table every rank writes (measurements)
//	  events.parquet           EventsPath: detected events
//	  events/rank=0000/part-SSSSS.parquet  PartPath(EventsTable): a live run's later events
//	  responses/               ResponsesDir
//	    deliveries.jsonl       ResponsesLogPath: the delivery log of the response rules
//	  alerts/                  AlertsDir: light curves and monitor list of external alerts
//	  status.json              StatusPath: live state for dashboards (rewritten atomically)
//	  gotrap.sbatch            SbatchPath: the batch script of gotrap slurm
//	  logs/                    LogsDir
//	    rank-RRRR.log          RankLogPath: one log per rank
//	    slurm-JOB.out          SlurmLogPath
//	    summary.txt            SummaryPath: the run summary
//	  report/                  ReportDir: gotrap report's default folder
//	  work/                    WorkDir: staged results, not part of the catalogue
//	    STEP/IIIIIIII.SUFFIX   StepDir, StagedPath: what a step staged for an image
//	    commit.json            CommitPath: the committed timesteps (Commit)
//	    links/                 LinksDir: the association links
//	  .gotrap.lock             LockFile
//
// Table names (catalog's Table constants, EventsTable) are arguments, so
// the catalogue's schema stays in package catalog.
//
// # Manifest and commit record
//
// Manifest is RUN/manifest.json: what the run is (version, inputs and
// their hashes, configuration hash) and which stages are done (Stage,
// MarkStage). Commit is RUN/work/commit.json: how many timesteps are
// committed. Both are rewritten atomically (WriteFile).
//
// # Safety rules
//
//   - Lock: an advisory flock(2) on RUN/.gotrap.lock, held by a writer
//     (run, report) for as long as it writes. A second writer fails at once
//     with an error (ErrLocked) naming the holder's pid, host and command.
//     The kernel releases the lock when its holder dies, so a lock file
//     left by a killed process is stale: the next writer takes it and is
//     told (Lock.Stale) who held it.
//   - Create / WriteFile / WriteFunc: a file appears under its final name
//     complete or not at all. It is written under a temporary name unique
//     to the call (".NAME.<random>.tmp" in the same folder,
//     os.CreateTemp), synced, and renamed; the folder is synced after the
//     rename. CreateName and Rename do the same for a writer that opens
//     files by name (DuckDB's COPY). Batch does it for a few files at
//     once with fewer syncs (gotrap extract's outputs): their data synced
//     concurrently, the renames, then one sync per folder; each file is
//     still complete or absent, and all are durable when Commit returns.
//   - WriteStaged / SyncFS: a file written complete under a temporary
//     name and renamed, but not synced, for files made durable as a group:
//     one SyncFS (syncfs(2)) of their file system before the record that
//     counts them (the pipeline's staged files of a timestep, before
//     work/commit.json).
//   - CreateDir / CommitDir: the same for a whole folder (the report),
//     which replaces an existing one only if gotrap made it.
//   - IsTemp and RemoveTemps: the temporary files of killed writers are
//     recognised by that pattern and only those are removed.
//   - Marker files (Mark, CheckReplaceable): a folder gotrap created and
//     may replace holds a marker naming the files gotrap wrote there.
//
// # Errors
//
// Every error names the file and wraps the cause; a missing manifest
// wraps fs.ErrNotExist.
package rundir
