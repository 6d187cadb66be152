package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestTrendFitsTheSecondHalf(t *testing.T) {
	// RSS jumps in the first half (warm-up) and then grows 1 MiB per 10
	// minutes; goroutines are flat in the second half.
	var s []sample
	for i := 0; i <= 60; i++ {
		ts := float64(i * 60)
		rss := 100.0
		if i >= 30 {
			rss = 200 + float64(i-30)/10
		}
		s = append(s, sample{t: ts, rss: rss, gr: 40})
	}
	tr := trendOf("api", s, 0)
	if math.Abs(tr.RSSSlopeMiBHour-6) > 1e-9 {
		t.Fatalf("RSS slope %v MiB/h, want 6", tr.RSSSlopeMiBHour)
	}
	if tr.GrSlopePerHour != 0 || tr.GrMean != 40 {
		t.Fatalf("goroutines slope %v mean %v, want 0 and 40", tr.GrSlopePerHour, tr.GrMean)
	}
	if tr.Samples != 31 || tr.FromMin != 30 || tr.ToMin != 60 {
		t.Fatalf("fitted %d samples from %v to %v min, want 31 from 30 to 60", tr.Samples, tr.FromMin, tr.ToMin)
	}
	if math.Abs(tr.RSSFloorSlopeMiBHour-6) > 0.5 || math.Abs(tr.GrFloorSlopePerHour) > 1e-6 {
		t.Fatalf("floor slopes %v MiB/h and %v /h, want about 6 and 0", tr.RSSFloorSlopeMiBHour, tr.GrFloorSlopePerHour)
	}
	// Spikes above a flat floor move the plain fit, not the floor's.
	spiky := slices.Clone(s)
	for i := range spiky {
		spiky[i].rss = 100
		if i == 58 {
			spiky[i].rss = 900
		}
	}
	if tr := trendOf("web", spiky, 0); tr.RSSSlopeMiBHour <= 100 || math.Abs(tr.RSSFloorSlopeMiBHour) > 1e-6 {
		t.Fatalf("spike: plain slope %v, floor slope %v; want > 100 and 0", tr.RSSSlopeMiBHour, tr.RSSFloorSlopeMiBHour)
	}
	// With the load starting at minute 20, the second half of the load
	// starts at minute 40.
	if tr := trendOf("api", s, 20*60); tr.FromMin != 40 || math.Abs(tr.RSSSlopeMiBHour-6) > 1e-9 {
		t.Fatalf("from minute %v slope %v, want 40 and 6", tr.FromMin, tr.RSSSlopeMiBHour)
	}
}

func TestReadRefusesBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"header": "time,role,rss,g\n0,api,1,2\n",
		"number": "t_s,role,rss_mib,goroutines\n0,api,x,2\n",
		"empty":  "t_s,role,rss_mib,goroutines\n",
	} {
		if _, _, err := read(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	by, roles, err := read(strings.NewReader("t_s,role,rss_mib,goroutines\n0,api,1.5,2\n0,web,3,4\n10,api,2,3\n"))
	if err != nil || len(roles) != 2 || roles[0] != "api" || len(by["api"]) != 2 || by["web"][0].gr != 4 {
		t.Fatalf("read: %v %v %v", by, roles, err)
	}
}
