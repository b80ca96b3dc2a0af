package rundir

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// The names of RUN/'s entries. Only this file spells them; every package
// asks the functions below for a path.
const (
	configName    = "gotrap.toml"
	manifestName  = "manifest.json"
	inputsName    = "inputs.jsonl"
	statusName    = "status.json"
	sbatchName    = "gotrap.sbatch"
	logsName      = "logs"
	summaryName   = "summary.txt"
	workName      = "work"
	commitName    = "commit.json"
	linksName     = "links"
	reportName    = "report"
	alertsName    = "alerts"
	responsesName = "responses"
	deliveryName  = "deliveries.jsonl"
)

// EventsTable is the table name of RUN/events.parquet.
const EventsTable = "events"

// ConfigPath is RUN/gotrap.toml, the copy of the job configuration a run
// used.
func ConfigPath(run string) string { return filepath.Join(run, configName) }

// ManifestPath is RUN/manifest.json (Manifest).
func ManifestPath(run string) string { return filepath.Join(run, manifestName) }

// InputsLogPath is RUN/inputs.jsonl, the inputs of a run whose manifest
// keeps them in a log (Manifest.InputsLog: a live run).
func InputsLogPath(run string) string { return filepath.Join(run, inputsName) }

// StatusPath is RUN/status.json, the live state for dashboards.
func StatusPath(run string) string { return filepath.Join(run, statusName) }

// SbatchPath is RUN/gotrap.sbatch, the batch script of gotrap slurm.
func SbatchPath(run string) string { return filepath.Join(run, sbatchName) }

// LogsDir is RUN/logs.
func LogsDir(run string) string { return filepath.Join(run, logsName) }

// RankLogPath is RUN/logs/rank-RRRR.log, the log of one rank.
func RankLogPath(run string, rank int) string {
	return filepath.Join(run, logsName, fmt.Sprintf("rank-%04d.log", rank))
}

// SlurmLogPath is RUN/logs/slurm-JOB.out, the output of a Slurm job
// (job may be Slurm's "%j" pattern).
func SlurmLogPath(run, job string) string {
	return filepath.Join(run, logsName, "slurm-"+job+".out")
}

// SummaryPath is RUN/logs/summary.txt, the run summary.
func SummaryPath(run string) string { return filepath.Join(run, logsName, summaryName) }

// LatePath is RUN/logs/late.txt, the files a live run did not take (late
// or unreadable), one line each: time, path, why.
func LatePath(run string) string { return filepath.Join(run, logsName, "late.txt") }

// WorkDir is RUN/work: the staged per-image results of the timesteps
// stage, the commit record and the association links. It is not part of
// the catalogue: no DuckDB view reads it.
func WorkDir(run string) string { return filepath.Join(run, workName) }

// StepDir is RUN/work/STEP, the folder of one step's staged files
// ("extract", "forced", ...).
func StepDir(run, step string) string { return filepath.Join(run, workName, step) }

// StagedPath is RUN/work/STEP/IIIIIIII.SUFFIX, what step staged for image
// id.
func StagedPath(run, step string, id int64, suffix string) string {
	return filepath.Join(run, workName, step, fmt.Sprintf("%08d.%s", id, suffix))
}

// PackPath is RUN/work/packs/rank=RRRR/pack-SSSSS.zst, one pack of the
// staged files of a live run's committed images (internal/pipeline's
// work packs).
func PackPath(run string, rank, seq int) string {
	return filepath.Join(run, workName, "packs", fmt.Sprintf("rank=%04d", rank), fmt.Sprintf("pack-%05d.zst", seq))
}

// PackGlob is the filepath.Glob pattern of every rank's packs (PackPath;
// check the number with PartSeq).
func PackGlob(run string) string {
	return filepath.Join(run, workName, "packs", "rank=[0-9][0-9][0-9][0-9]", "pack-[0-9]*.zst")
}

// StagedGlob is the filepath.Glob pattern of what step staged for image
// id (StagedPath with any suffix).
func StagedGlob(run, step string, id int64) string {
	return filepath.Join(run, workName, step, fmt.Sprintf("%08d.*", id))
}

// CommitPath is RUN/work/commit.json (Commit).
func CommitPath(run string) string { return filepath.Join(run, workName, commitName) }

// LinksDir is RUN/work/links, the association links of the committed
// timesteps.
func LinksDir(run string) string { return filepath.Join(run, workName, linksName) }

// TablePath is RUN/TABLE.parquet, a catalogue table written as one file.
func TablePath(run, table string) string { return filepath.Join(run, table+".parquet") }

// TableDir is RUN/TABLE, the folder of a partitioned table.
func TableDir(run, table string) string { return filepath.Join(run, table) }

// PartPath is RUN/TABLE/rank=RRRR/STAGE-SSSSS.parquet, one part file of a
// partitioned table, for example measurements/rank=0003/blind-00000.parquet.
// The rank=RRRR folder is a Hive partition, so DuckDB reads it with
// hive_partitioning; stage names what wrote it ("blind", "forced";
// "part" when empty) and seq numbers the files a rank writes in it.
func PartPath(run, table string, rank int, stage string, seq int) string {
	if stage == "" {
		stage = "part"
	}
	return filepath.Join(run, table, fmt.Sprintf("rank=%04d", rank), fmt.Sprintf("%s-%05d.parquet", stage, seq))
}

// PartGlob is the filepath.Glob pattern of the part files (PartPath) of
// table written by stage, of every rank; stage "" matches every stage.
// Numbers have five digits or more (a live run's pass 99,999 after a day
// at one timestep a second): the pattern matches any name with a digit
// after the stage, so check the number with PartSeq.
func PartGlob(run, table, stage string) string {
	if stage == "" {
		stage = "*"
	}
	return filepath.Join(run, table, "rank=[0-9][0-9][0-9][0-9]", stage+"-[0-9]*.parquet")
}

// PartSeq returns the number of a part file's path (PartPath's seq, or
// PackPath's), and false when its name is not STAGE-DIGITS.parquet (or
// pack-DIGITS.zst).
func PartSeq(path string) (int, bool) {
	base := filepath.Base(path)
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".parquet"), ".zst")
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 || len(name) == len(base) {
		return 0, false
	}
	n := 0
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' || n > (math.MaxInt-9)/10 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// RankDirGlob is the filepath.Glob pattern of table's rank=RRRR folders.
func RankDirGlob(run, table string) string {
	return filepath.Join(run, table, "rank=[0-9][0-9][0-9][0-9]")
}

// TablePartPath is RUN/TABLE/STAGE-00000.parquet, the one part file
// that stage adds to a table written as RUN/TABLE.parquet (the backward
// associations beside RUN/associations.parquet); DuckDB's view of the
// table reads both.
func TablePartPath(run, table, stage string) string {
	return filepath.Join(run, table, stage+"-00000.parquet")
}

// TablePartGlob is the filepath.Glob pattern of the part files
// (TablePartPath) of table.
func TablePartGlob(run, table string) string {
	return filepath.Join(run, table, "*.parquet")
}

// EventsPath is RUN/events.parquet.
func EventsPath(run string) string { return TablePath(run, EventsTable) }

// ResponsesDir is RUN/responses.
func ResponsesDir(run string) string { return filepath.Join(run, responsesName) }

// ResponsesLogPath is RUN/responses/deliveries.jsonl, the delivery log of
// the response rules.
func ResponsesLogPath(run string) string { return filepath.Join(run, responsesName, deliveryName) }

// AlertsDir is RUN/alerts, the light curves and monitor list of the
// external alerts gotrap listen followed up.
func AlertsDir(run string) string { return filepath.Join(run, alertsName) }

// AlertMonitorPath is RUN/alerts/monitor.txt: the positions of the
// external alerts followed up (gotrap listen), one "RA DEC # IVORN" a
// line; a live run fits each from its next timestep on.
func AlertMonitorPath(run string) string { return filepath.Join(run, alertsName, "monitor.txt") }

// AlertInboxPath is RUN/alerts/inbox/NAME.xml: an alert packet that
// gotrap listen queued for the live run (gotrap watch) holding the run.
func AlertInboxPath(run, name string) string {
	return filepath.Join(run, alertsName, "inbox", name+".xml")
}

// AlertInboxGlob is the filepath.Glob pattern of the queued alerts.
func AlertInboxGlob(run string) string { return filepath.Join(run, alertsName, "inbox", "*.xml") }

// IsLive reports whether run is or was a live run (gotrap watch): its
// publish lock exists.
func IsLive(run string) bool {
	_, err := os.Stat(filepath.Join(run, PublishLockFile))
	return err == nil
}

// ReportDir is RUN/report, the default folder of gotrap report.
func ReportDir(run string) string { return filepath.Join(run, reportName) }

// PreManifest reports whether name, an entry of RUN/, is one that gotrap
// writes before a run's manifest exists (the lock, temporary files, the
// logs, the configuration copy, the Slurm script): a run that stopped
// before its manifest leaves only such entries, and a new run may start
// over them.
func PreManifest(name string) bool {
	switch name {
	case LockFile, PublishLockFile, publishTurnFile, PublishingFile, logsName, configName, sbatchName:
		return true
	}
	return IsTemp(name)
}
