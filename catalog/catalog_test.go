package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"gotrap/catalog/internal/pq"
)

const testSeed = 20240501

func newRNG(t testing.TB, stream uint64) *rand.Rand {
	t.Logf("seed %d stream %d", testSeed, stream)
	return rand.New(rand.NewPCG(testSeed, stream))
}

// TestGatherMatchesRef checks the offset-based column gather against the
// reflect-based encoding twin for every table, at sizes around the
// bitmap's byte boundaries, and that scatter of the decoded columns
// restores the records.
func TestGatherMatchesRef(t *testing.T) {
	rng := newRNG(t, 1)
	for _, n := range []int{1, 2, 3, 7, 8, 9, 63, 64, 65, 1000} {
		checkGather[Image](t, rng, n)
		checkGather[Measurement](t, rng, n)
		checkGather[Association](t, rng, n)
		checkGather[Runcat](t, rng, n)
		checkGather[RuncatFlux](t, rng, n)
		checkGather[NewSource](t, rng, n)
		checkGather[SkyRegion](t, rng, n)
		checkGather[Band](t, rng, n)
		checkGather[VarMetric](t, rng, n)
	}
}

func checkGather[T any](t *testing.T, rng *rand.Rand, n int) {
	t.Helper()
	rows := randomRecords[T](rng, n)
	s := schemaOf[T]()
	got := make([]pq.Column, len(s.cols))
	s.gather(got, unsafe.Pointer(unsafe.SliceData(rows)), n)
	want := gatherRef(rows)
	for j := range got {
		if !bytes.Equal(got[j].Values, want[j].Values) || fmt.Sprint(got[j].Valid) != fmt.Sprint(want[j].Valid) {
			t.Errorf("%T n=%d column %s: gather differs from reference", rows[0], n, s.cols[j].Name)
		}
	}
}

func roundTrip[T any](t *testing.T, rows []T, opts ...Option) ([]T, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter[T](&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// Write in uneven pieces so buffering, direct row-group writes and
	// the final partial group are all used.
	rest := rows
	for i := 1; len(rest) > 0; i *= 3 {
		k := min(i, len(rest))
		if err := w.Write(rest[:k]...); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if got := w.Rows(); got != int64(len(rows)) {
		t.Errorf("Rows() = %d, want %d", got, len(rows))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := Read[T](bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return got, buf.Bytes()
}

func TestRoundTripAllTables(t *testing.T) {
	rng := newRNG(t, 2)
	const n = 2500 // with 1000-row groups: two full groups and a partial one
	opt := WithRowGroupRows(1000)
	check := func(name string, d string) {
		t.Helper()
		if d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
	{
		rows := randomRecords[Image](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("images", diffRecords(got, rows))
	}
	{
		rows := randomRecords[Measurement](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("measurements", diffRecords(got, rows))
	}
	{
		rows := randomRecords[Association](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("associations", diffRecords(got, rows))
	}
	{
		rows := randomRecords[Runcat](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("runcat", diffRecords(got, rows))
	}
	{
		rows := randomRecords[RuncatFlux](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("runcat_flux", diffRecords(got, rows))
	}
	{
		rows := randomRecords[NewSource](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("newsources", diffRecords(got, rows))
	}
	{
		rows := randomRecords[SkyRegion](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("skyregions", diffRecords(got, rows))
	}
	{
		rows := randomRecords[Band](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("bands", diffRecords(got, rows))
	}
	{
		rows := randomRecords[VarMetric](rng, n)
		got, _ := roundTrip(t, rows, opt)
		check("varmetric", diffRecords(got, rows))
	}
	{
		got, _ := roundTrip[Measurement](t, nil)
		check("empty", diffRecords(got, nil))
	}
}

func TestDeterministicBytes(t *testing.T) {
	rows := randomRecords[Measurement](newRNG(t, 3), 3000)
	opts := []Option{WithRowGroupRows(1024), WithConfigHash("abc123"), WithSeed(42)}
	_, a := roundTrip(t, rows, opts...)
	_, b := roundTrip(t, rows, opts...)
	if !bytes.Equal(a, b) {
		t.Fatalf("the same records gave different files (%d and %d bytes)", len(a), len(b))
	}
	// And the bytes do depend on the content.
	rows[1234].FInt = math.Nextafter(rows[1234].FInt, math.Inf(1))
	_, c := roundTrip(t, rows, opts...)
	if bytes.Equal(a, c) {
		t.Fatal("changing one flux did not change the file")
	}
}

// TestWriteFileSameBytes checks that WriteFile and Encode, which flush their rows
// without copying them (writeAll), write the bytes of the piecewise
// Write and Close of roundTrip: row counts below, at and across row-group
// boundaries, the empty file included.
func TestWriteFileSameBytes(t *testing.T) {
	rows := randomRecords[Measurement](newRNG(t, 9), 2100)
	for _, c := range []struct{ n, group int }{{0, 1024}, {1, 1024}, {300, 1024}, {1024, 1024}, {2100, 1024}, {2100, 100}, {2100, 1 << 16}} {
		t.Run(fmt.Sprintf("%d rows, groups of %d", c.n, c.group), func(t *testing.T) {
			opts := []Option{WithRowGroupRows(c.group), WithConfigHash("abc123"), WithSeed(42)}
			_, want := roundTrip(t, rows[:c.n], opts...)
			path := filepath.Join(t.TempDir(), "m.parquet")
			// Twice: the second file gets the first one's pooled buffer.
			for range 2 {
				if err := WriteFile(path, rows[:c.n], opts...); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("WriteFile wrote %d bytes, unlike Write and Close's %d", len(got), len(want))
				}
				var enc bytes.Buffer
				if err := Encode(&enc, rows[:c.n], opts...); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(enc.Bytes(), want) {
					t.Fatalf("Encode wrote %d bytes, unlike Write and Close's %d", enc.Len(), len(want))
				}
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	rows := randomRecords[Measurement](newRNG(t, 4), 10)
	_, b := roundTrip(t, rows, WithConfigHash("sha256:feed"), WithSeed(7), WithMetadata("extra", "x"))
	md, err := ReadMetadata(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		MetaSchemaVersion: strconv.Itoa(SchemaVersion),
		MetaTable:         TableMeasurements,
		MetaConfigHash:    "sha256:feed",
		MetaSeed:          "7",
		MetaVersion:       Version(),
		"extra":           "x",
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, md[k], v)
		}
	}
	var units map[string]string
	if err := json.Unmarshal([]byte(md[MetaUnits]), &units); err != nil {
		t.Fatalf("units: %v", err)
	}
	for col, u := range map[string]string{"ra": "deg", "f_int": "Jy", "f_peak": "Jy/beam", "error_radius": "arcsec"} {
		if units[col] != u {
			t.Errorf("unit of %s = %q, want %q", col, units[col], u)
		}
	}
}

func TestReadSchemaMismatch(t *testing.T) {
	var buf bytes.Buffer
	if err := writeAll(&buf, randomRecords[Band](newRNG(t, 5), 3)); err != nil {
		t.Fatal(err)
	}
	_, err := Read[SkyRegion](bytes.NewReader(buf.Bytes()))
	if !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("reading bands as skyregions: err = %v, want ErrSchemaMismatch", err)
	}
}

// bandV0 is a bands row without its last two columns: a file written
// before columns were added at the end of a record.
type bandV0 struct {
	ID          int64   `parquet:"id"`
	FreqCentral float64 `parquet:"freq_central"`
}

// TestReadOlderFile reads a file holding a leading part of a record's
// columns: the missing ones are zero. A file whose leading columns are
// not the record's is still a mismatch.
func TestReadOlderFile(t *testing.T) {
	var buf bytes.Buffer
	old := []bandV0{{1, 120e6}, {2, 130e6}}
	if err := writeAll(&buf, old); err != nil {
		t.Fatal(err)
	}
	got, err := Read[Band](bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := []Band{{ID: 1, FreqCentral: 120e6}, {ID: 2, FreqCentral: 130e6}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read %+v, want %+v", got, want)
	}
	if _, err := Read[SkyRegion](bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrSchemaMismatch) {
		t.Errorf("reading an older bands file as skyregions: err = %v, want ErrSchemaMismatch", err)
	}
}

func writeAll[T any](buf *bytes.Buffer, rows []T) error {
	w, err := NewWriter[T](buf)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		return err
	}
	return w.Close()
}

// TestCreateAtomic shows that a file is invisible under its final name
// until Close, that an abandoned writer leaves no *.parquet, and that
// Abort removes the temporary file.
func TestCreateAtomic(t *testing.T) {
	run := t.TempDir()
	path := rundir.PartPath(run, TableMeasurements, 3, "blind", 0)
	rows := randomRecords[Measurement](newRNG(t, 6), 5000)

	w, err := Create[Measurement](path, WithRowGroupRows(1000))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows...); err != nil {
		t.Fatal(err)
	}
	// Abandoned mid-file: four row groups are on their way to disk, the
	// footer is not.
	if got := parquetFiles(t, run); len(got) != 0 {
		t.Fatalf("before Close: visible files %v", got)
	}
	tmp := w.TempPath()
	if st, err := os.Stat(tmp); err != nil || st.Size() == 0 {
		t.Fatalf("temporary file: %v, %v", st, err)
	}
	if m, _ := filepath.Glob(filepath.Join(run, "measurements", "*", "*.parquet")); len(m) != 0 {
		t.Errorf("a '*.parquet' glob sees the temporary file: %v", m)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := parquetFiles(t, run); len(got) != 1 || got[0] != path {
		t.Fatalf("after Close: files %v, want [%s]", got, path)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary file left after Close: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Read[Measurement](f)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffRecords(got, rows); d != "" {
		t.Fatal(d)
	}

	// Abort leaves nothing.
	p2 := rundir.PartPath(run, TableMeasurements, 3, "forced", 0)
	w2, err := Create[Measurement](p2)
	if err != nil {
		t.Fatal(err)
	}
	w2.Write(rows[:10]...)
	tmp2 := w2.TempPath()
	w2.Abort()
	if _, err := os.Stat(tmp2); !os.IsNotExist(err) {
		t.Errorf("Abort left the temporary file: %v", err)
	}
	if err := w2.Close(); !errors.Is(err, ErrAborted) {
		t.Errorf("Close after Abort = %v, want ErrAborted", err)
	}
	if got := parquetFiles(t, run); len(got) != 1 {
		t.Errorf("after Abort: files %v", got)
	}
}

// TestCloseTo: files closed into a rundir.Batch stay invisible under
// their final names until the batch is committed, then hold their rows;
// a batch aborted removes the files it holds and leaves no final name.
func TestCloseTo(t *testing.T) {
	run := t.TempDir()
	rows := randomRecords[Measurement](newRNG(t, 7), 300)
	write := func(b *rundir.Batch, stages ...string) []string {
		t.Helper()
		var paths []string
		for k, st := range stages {
			p := rundir.PartPath(run, TableMeasurements, 0, st, 1)
			w, err := Create[Measurement](p)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rows[k*100 : (k+1)*100]...); err != nil {
				t.Fatal(err)
			}
			if err := w.CloseTo(b); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		return paths
	}
	var b rundir.Batch
	paths := write(&b, "blind", "forced", "monitor")
	if got := parquetFiles(t, run); len(got) != 0 {
		t.Fatalf("closed into a batch, not committed: visible files %v", got)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for k, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatalf("after the batch's commit: %v", err)
		}
		got, err := Read[Measurement](f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := diffRecords(got, rows[k*100:(k+1)*100]); d != "" {
			t.Fatalf("%s: %s", p, d)
		}
	}
	run = t.TempDir()
	var ab rundir.Batch
	write(&ab, "blind", "forced")
	ab.Abort()
	left, _ := filepath.Glob(filepath.Join(run, "measurements", "*", "*"))
	if len(left) != 0 {
		t.Errorf("after the batch's abort: %v left", left)
	}
}

func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMeasurementID(t *testing.T) {
	for _, c := range []struct {
		image int64
		index int
	}{{0, 0}, {1, 0}, {1, 1<<24 - 1}, {1<<39 - 1, 12345}} {
		id := MeasurementID(c.image, c.index)
		im, ix := SplitMeasurementID(id)
		if im != c.image || ix != c.index {
			t.Errorf("Split(MeasurementID(%d, %d)) = %d, %d", c.image, c.index, im, ix)
		}
	}
	if MeasurementID(2, 0) <= MeasurementID(1, 1<<24-1) {
		t.Error("ids do not sort by image first")
	}
	for _, c := range []struct {
		image int64
		index int
	}{{-1, 0}, {1 << 39, 0}, {0, -1}, {0, 1 << 24}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MeasurementID(%d, %d) did not panic", c.image, c.index)
				}
			}()
			MeasurementID(c.image, c.index)
		}()
	}
}

func TestFluxStatsMatchesDirect(t *testing.T) {
	rng := newRNG(t, 7)
	var maxEta, maxV float64
	var checked, widened int
	defer func() {
		t.Logf("max relative difference: eta %.3g, V %.3g; %d of %d cases needed more than 1e-12", maxEta, maxV, widened, checked)
	}()
	for trial := range 200 {
		n := 1 + rng.IntN(60)
		mean := math.Exp(rng.NormFloat64()) // ~0.1 to 10 Jy
		x, s := make([]float64, n), make([]float64, n)
		var st FluxStats
		for i := range x {
			s[i] = mean * (0.02 + 0.3*rng.Float64())
			x[i] = mean + s[i]*rng.NormFloat64()*(1+3*float64(trial%3))
			st.Add(x[i], s[i])
			eta, v := testutil.EtaV(x[:i+1], s[:i+1])
			// The incremental form subtracts nearly equal running means
			// (W*B - A^2 and Q - mean^2), so it loses about
			// N*eps*cond, cond = W*B/(W*B - A^2) (Q/(Q - mean^2) for
			// V), to cancellation; the two-pass direct form does not.
			// The bound is 1e-12 relative (the required agreement) where
			// 4*N*eps*cond is below it, which is every case with
			// scatter above ~2% of the flux, and 4*N*eps*cond beyond.
			nn := float64(i + 1)
			condEta := st.AvgWeight * st.AvgWeightedSq / (st.AvgWeight*st.AvgWeightedSq - st.AvgWeighted*st.AvgWeighted)
			condV := st.AvgSq / (st.AvgSq - st.Avg*st.Avg)
			tolEta := math.Max(1e-12, 4*nn*eps*math.Abs(condEta))
			tolV := math.Max(1e-12, 4*nn*eps*math.Abs(condV))
			if tolEta > 1e-12 || tolV > 1e-12 {
				widened++
			}
			checked++
			maxEta = math.Max(maxEta, relDiff(st.Eta(), eta))
			maxV = math.Max(maxV, relDiff(st.V(), v))
			if !close(st.Eta(), eta, tolEta) || !close(st.V(), v, tolV) {
				t.Fatalf("trial %d, %d points: incremental eta, V = %.17g, %.17g; direct %.17g, %.17g (tolerances %.2g, %.2g)",
					trial, i+1, st.Eta(), st.V(), eta, v, tolEta, tolV)
			}
		}
		// Merge of two halves equals adding one by one.
		var a, b FluxStats
		h := n / 2
		for i := range x {
			if i < h {
				a.Add(x[i], s[i])
			} else {
				b.Add(x[i], s[i])
			}
		}
		a.Merge(b)
		if a.N != st.N || !close(a.Eta(), st.Eta(), 1e-10) || !close(a.V(), st.V(), 1e-10) {
			t.Fatalf("trial %d: merged %+v, sequential %+v", trial, a, st)
		}
	}
}

// eps is the float64 unit roundoff 2^-53.
const eps = 0x1p-53

func relDiff(a, b float64) float64 {
	m := math.Max(math.Abs(a), math.Abs(b))
	if m == 0 {
		return 0
	}
	return math.Abs(a-b) / m
}

// close reports whether a and b agree to rel relative to the larger of
// them, or both are below 1e-300 in magnitude.
func close(a, b, rel float64) bool {
	d := math.Abs(a - b)
	m := math.Max(math.Abs(a), math.Abs(b))
	return d <= rel*m || m < 1e-300
}

func TestColumnsPanicsOnBadType(t *testing.T) {
	type bad struct {
		A int64  `parquet:"a"`
		B []byte `parquet:"b"`
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "unsupported type") {
			t.Fatalf("recover() = %v", r)
		}
	}()
	Columns[bad]()
}

func TestTables(t *testing.T) {
	names := []string{}
	for _, tb := range Tables() {
		names = append(names, tb.Name)
	}
	want := "images measurements associations runcat runcat_flux newsources skyregions bands varmetric limits circpol"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Tables() = %s, want %s", got, want)
	}
}

// BenchmarkWriteMeasurements measures the writer alone (records prepared
// in advance), per row group size.
func BenchmarkWriteMeasurements(b *testing.B) {
	rows := randomRecords[Measurement](rand.New(rand.NewPCG(testSeed, 9)), 1<<16)
	for _, rg := range []int{1 << 12, 1 << 16} {
		b.Run("rowgroup="+strconv.Itoa(rg), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(rows)) * int64(unsafe.Sizeof(Measurement{})))
			for b.Loop() {
				w, err := NewWriter[Measurement](discard{}, WithRowGroupRows(rg))
				if err != nil {
					b.Fatal(err)
				}
				if err := w.Write(rows...); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestDocsListColumns keeps docs/catalog.md in step with the records:
// every column of every table appears in its table's section.
func TestDocsListColumns(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "catalog.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, tb := range Tables() {
		i := strings.Index(doc, "\n### "+tb.Name+"\n")
		if i < 0 {
			t.Errorf("docs/catalog.md has no section ### %s", tb.Name)
			continue
		}
		sec := doc[i+1:]
		if j := strings.Index(sec[4:], "\n### "); j >= 0 {
			sec = sec[:j+4]
		}
		for _, c := range tb.Columns {
			if !strings.Contains(sec, "| `"+c.Name+"` | "+c.SQLType) {
				t.Errorf("docs/catalog.md ### %s does not list column %s %s", tb.Name, c.Name, c.SQLType)
			}
		}
	}
}

// TestReadEach: reading in batches gives Read's rows in file order, each
// batch at most the size asked for, across row groups; an older file's
// missing columns read as zero values even in a reused batch; fn's error
// stops the read.
func TestReadEach(t *testing.T) {
	rng := newRNG(t, 3)
	rows := randomRecords[Measurement](rng, 2500)
	_, data := roundTrip(t, rows, WithRowGroupRows(1000))
	for _, batch := range []int{1, 7, 1000, 4096} {
		var got []Measurement
		calls := 0
		err := ReadEach(bytes.NewReader(data), batch, func(b []Measurement) error {
			calls++
			if len(b) == 0 || len(b) > batch {
				t.Errorf("batch %d: a call with %d rows", batch, len(b))
			}
			got = append(got, b...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := diffRecords(got, rows); d != "" {
			t.Errorf("batch %d: %s", batch, d)
		}
		if min := (len(rows) + batch - 1) / batch; calls < min {
			t.Errorf("batch %d: %d calls, want at least %d", batch, calls, min)
		}
	}
	var buf bytes.Buffer
	if err := writeAll(&buf, []bandV0{{1, 120e6}, {2, 130e6}, {3, 140e6}}); err != nil {
		t.Fatal(err)
	}
	var bands []Band
	err := ReadEach(bytes.NewReader(buf.Bytes()), 2, func(b []Band) error {
		bands = append(bands, b...)
		b[0].FreqLow = 99 // dirty the reused batch: the next must not see it
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Band{{ID: 1, FreqCentral: 120e6}, {ID: 2, FreqCentral: 130e6}, {ID: 3, FreqCentral: 140e6}}
	if !reflect.DeepEqual(bands, want) {
		t.Errorf("older file in batches: %+v, want %+v", bands, want)
	}
	stop := errors.New("stop")
	if err := ReadEach(bytes.NewReader(data), 10, func([]Measurement) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: got %v", err)
	}
}

// TestConcurrentFiles writes and reads files from several goroutines at
// once, as the pipeline's workers do: the writers share the pool of zstd
// encoders and the readers one decoder (run with -race).
func TestConcurrentFiles(t *testing.T) {
	dir := t.TempDir()
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			rng := rand.New(rand.NewPCG(testSeed, uint64(100+g)))
			rows := randomRecords[Measurement](rng, 300+g*500)
			p := dir + "/m" + strconv.Itoa(g) + ".parquet"
			if err := WriteFile(p, rows, WithRowGroupRows(700)); err != nil {
				errs <- err
				return
			}
			f, err := os.Open(p)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			got, err := Read[Measurement](f)
			if err == nil {
				if d := diffRecords(got, rows); d != "" {
					err = errors.New(d)
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
