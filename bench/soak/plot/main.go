// Command plot reads the soak's samples (t_s,role,rss_mib,goroutines),
// draws RSS and goroutines against time per role into one PNG, and prints
// each role's least-squares slope over the second half of the run in MiB
// and goroutines per hour, so "no growth" is a number.
//
//	go run ./bench/soak/plot -csv /tmp/palisade-soak/soak.csv -png docs/soak.png
package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

type sample struct{ t, rss, gr float64 }

type trend struct {
	Role            string  `json:"role"`
	Samples         int     `json:"samples_second_half"`
	FromMin         float64 `json:"from_minute"`
	ToMin           float64 `json:"to_minute"`
	RSSMeanMiB      float64 `json:"rss_mean_mib"`
	RSSMaxMiB       float64 `json:"rss_max_mib"`
	RSSSlopeMiBHour float64 `json:"rss_slope_mib_per_hour"`
	GrMean          float64 `json:"goroutines_mean"`
	GrMax           float64 `json:"goroutines_max"`
	GrSlopePerHour  float64 `json:"goroutines_slope_per_hour"`
	// The same fits to each window's minimum: a leak raises the floor,
	// while a stall of the machine only adds spikes above it.
	RSSFloorSlopeMiBHour float64 `json:"rss_floor_slope_mib_per_hour"`
	GrFloorSlopePerHour  float64 `json:"goroutines_floor_slope_per_hour"`
}

// floorWindow is the width of the windows whose minima the floor fits.
const floorWindow = 120.0 // seconds

func main() {
	in := flag.String("csv", "", "samples written by bench/soak/run.sh")
	out := flag.String("png", "docs/soak.png", "image to write")
	js := flag.String("json", "", "write the trends here too")
	loadStart := flag.Float64("load-start", 0, "seconds into the samples when the load began (after seeding); 0: from the first sample")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		fail(err)
	}
	by, roles, err := read(f)
	f.Close()
	if err != nil {
		fail(err)
	}
	if err := draw2(by, roles, *out, *loadStart); err != nil {
		fail(err)
	}
	var trends []trend
	fmt.Println("| role | samples (2nd half) | RSS mean / max | RSS slope (floor) | goroutines mean / max | goroutine slope (floor) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range roles {
		tr := trendOf(r, by[r], *loadStart)
		trends = append(trends, tr)
		fmt.Printf("| %s | %d | %.1f / %.1f MiB | %+.2f MiB/h (%+.2f) | %.0f / %.0f | %+.1f /h (%+.1f) |\n",
			r, tr.Samples, tr.RSSMeanMiB, tr.RSSMaxMiB, tr.RSSSlopeMiBHour, tr.RSSFloorSlopeMiBHour, tr.GrMean, tr.GrMax, tr.GrSlopePerHour, tr.GrFloorSlopePerHour)
	}
	if *js != "" {
		b, _ := json.MarshalIndent(trends, "", "  ")
		if err := os.WriteFile(*js, append(b, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "plot:", err)
	os.Exit(1)
}

func read(r io.Reader) (map[string][]sample, []string, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, nil, err
	}
	if !slices.Equal(head, []string{"t_s", "role", "rss_mib", "goroutines"}) {
		return nil, nil, fmt.Errorf("header %v is not t_s,role,rss_mib,goroutines", head)
	}
	by := map[string][]sample{}
	var roles []string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		var v [3]float64
		for i, s := range []string{rec[0], rec[2], rec[3]} {
			if v[i], err = strconv.ParseFloat(s, 64); err != nil {
				return nil, nil, fmt.Errorf("line %d: %q is not a number", line, s)
			}
		}
		if _, ok := by[rec[1]]; !ok {
			roles = append(roles, rec[1])
		}
		by[rec[1]] = append(by[rec[1]], sample{v[0], v[1], v[2]})
	}
	if len(roles) == 0 {
		return nil, nil, fmt.Errorf("no samples")
	}
	return by, roles, nil
}

// slope is the least-squares slope of y against x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// trendOf fits the second half of the load (by time, from loadStart): the
// first half holds the warm-up of caches, pools and the heap's target.
func trendOf(role string, s []sample, loadStart float64) trend {
	mid := (max(s[0].t, loadStart) + s[len(s)-1].t) / 2
	var x, rss, gr []float64
	tr := trend{Role: role}
	for _, p := range s {
		if p.t < mid {
			continue
		}
		x = append(x, p.t/3600)
		rss = append(rss, p.rss)
		gr = append(gr, p.gr)
		tr.RSSMeanMiB += p.rss
		tr.GrMean += p.gr
		tr.RSSMaxMiB = max(tr.RSSMaxMiB, p.rss)
		tr.GrMax = max(tr.GrMax, p.gr)
	}
	tr.Samples = len(x)
	if tr.Samples > 0 {
		tr.FromMin, tr.ToMin = x[0]*60, x[len(x)-1]*60
		tr.RSSMeanMiB /= float64(len(x))
		tr.GrMean /= float64(len(x))
	}
	tr.RSSSlopeMiBHour = slope(x, rss)
	tr.GrSlopePerHour = slope(x, gr)
	// Floors: the minimum of each window, placed at the window's middle.
	var fx, frss, fgr []float64
	for i := 0; i < len(x); {
		w0 := x[i]
		j := i
		mr, mg := rss[i], gr[i]
		for j < len(x) && (x[j]-w0)*3600 < floorWindow {
			mr, mg = min(mr, rss[j]), min(mg, gr[j])
			j++
		}
		fx = append(fx, (x[i]+x[j-1])/2)
		frss = append(frss, mr)
		fgr = append(fgr, mg)
		i = j
	}
	tr.RSSFloorSlopeMiBHour = slope(fx, frss)
	tr.GrFloorSlopePerHour = slope(fx, fgr)
	return tr
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{214, 39, 40, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{148, 103, 189, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{140, 86, 75, 255},
}

// draw2 stacks the panels, RSS over goroutines, minutes on the x axis;
// with loadStart, a second RSS panel shows the load alone, so seeding's
// password hashing does not set the scale.
func draw2(by map[string][]sample, roles []string, out string, loadStart float64) error {
	panel := func(title, ylabel string, from float64, val func(sample) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "minutes"
		p.Y.Label.Text = ylabel
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		top := 0.0
		for _, r := range roles {
			for _, s := range by[r] {
				if s.t >= from {
					top = max(top, val(s))
				}
			}
		}
		p.Y.Max = top * 1.3 // headroom for the legend above the lines
		for i, r := range roles {
			var xys plotter.XYs
			for _, s := range by[r] {
				if s.t >= from {
					xys = append(xys, plotter.XY{X: s.t / 60, Y: val(s)})
				}
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			l.Color = palette[i%len(palette)]
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(r, l)
		}
		return p, nil
	}
	rss := func(s sample) float64 { return s.rss }
	var panels []*plot.Plot
	title := "RSS per role process"
	if loadStart > 0 {
		title = fmt.Sprintf("RSS per role process, whole run (seeding until minute %.1f)", loadStart/60)
	}
	p, err := panel(title, "MiB", 0, rss)
	if err != nil {
		return err
	}
	panels = append(panels, p)
	if loadStart > 0 {
		if p, err = panel(fmt.Sprintf("RSS per role process under the steady load (from minute %.1f)", loadStart/60), "MiB", loadStart, rss); err != nil {
			return err
		}
		panels = append(panels, p)
	}
	if p, err = panel("Goroutines per role process", "goroutines", 0, func(s sample) float64 { return s.gr }); err != nil {
		return err
	}
	panels = append(panels, p)
	img := vgimg.New(vg.Points(900), vg.Points(float64(400*len(panels))))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Points(10), PadY: vg.Points(20), PadTop: vg.Points(10), PadBottom: vg.Points(10), PadLeft: vg.Points(10), PadRight: vg.Points(20)}
	grid := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		grid[i] = []*plot.Plot{p}
	}
	cs := plot.Align(grid, tiles, dc)
	for i, p := range panels {
		p.Draw(cs[i][0])
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
