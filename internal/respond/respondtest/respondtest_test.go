package respondtest

import (
	"slices"
	"testing"
)

// TestArrivalOrder: Maildir names sort by the time of saving, whose
// microseconds are not zero-padded (so name order is wrong), then the
// process's counter; names of another form go last.
func TestArrivalOrder(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"microseconds", []string{"1700000000.M99P7Q2.h", "1700000000.M100000P7Q3.h", "1700000000.M5P7Q1.h"},
			[]string{"1700000000.M5P7Q1.h", "1700000000.M99P7Q2.h", "1700000000.M100000P7Q3.h"}},
		{"seconds", []string{"1700000001.M1P7Q9.h", "1700000000.M999999P7Q8.h"},
			[]string{"1700000000.M999999P7Q8.h", "1700000001.M1P7Q9.h"}},
		{"same-microsecond", []string{"1700000000.M5P7Q11.h", "1700000000.M5P7Q10.h", "1700000000.M5P7Q9.h"},
			[]string{"1700000000.M5P7Q9.h", "1700000000.M5P7Q10.h", "1700000000.M5P7Q11.h"}},
		{"other-names-last", []string{"zz", "1700000000.M5P7Q1.h", "aa"},
			[]string{"1700000000.M5P7Q1.h", "aa", "zz"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Clone(tc.in)
			arrivalOrder(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("arrivalOrder(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
