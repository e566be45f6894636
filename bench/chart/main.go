// chart summarizes the benchmark runs and draws the chart of BENCHMARKS.md.
//
//	chart -runs runs.tsv -svg chart.svg -md summary.md   (bench/compare.sh's runs)
//	chart -gobench bench.txt -md scale.md                (go test -bench Scale output)
//
// From compare.sh's runs.tsv (round, N, op, tool, wall_s, user_s, sys_s, exit, command) it
// writes, per store size N and operation, the median wall time of each tool with the number
// of runs and the range, the ratios imagectl/floor and imagectl/podman, and an SVG: one panel
// per operation, time against store size on log-log axes, one line per tool. From `go test
// -bench` output it writes the median ns/op per benchmark and size and the growth from the
// smallest to the largest size.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	runs := flag.String("runs", "", "compare.sh's runs.tsv")
	gobench := flag.String("gobench", "", "go test -bench output")
	svg := flag.String("svg", "", "write the chart here (with -runs)")
	md := flag.String("md", "", "write the markdown summary here (default stdout)")
	flag.Parse()
	var out strings.Builder
	switch {
	case *runs != "":
		rs, err := readRuns(*runs)
		check(err)
		summarize(&out, rs)
		if *svg != "" {
			check(os.WriteFile(*svg, []byte(drawSVG(rs)), 0o644))
		}
	case *gobench != "":
		check(goBench(&out, *gobench))
	default:
		flag.Usage()
		os.Exit(2)
	}
	if *md == "" {
		fmt.Print(out.String())
		return
	}
	check(os.WriteFile(*md, []byte(out.String()), 0o644))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

// key is one measured cell: store size, operation, tool.
type key struct {
	n        int
	op, tool string
}

type runSet struct {
	wall    map[key][]float64
	failed  map[key]int
	ns      []int
	ops     []string
	tools   []string
	command map[key]string
}

func readRuns(path string) (*runSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs := &runSet{wall: map[key][]float64{}, failed: map[key]int{}, command: map[key]string{}}
	seenN, seenOp, seenTool := map[int]bool{}, map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 0; sc.Scan(); line++ {
		if line == 0 {
			continue // header
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 9 {
			continue
		}
		n, err := strconv.Atoi(c[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: N %q", path, line+1, c[1])
		}
		k := key{n, c[2], c[3]}
		if !seenN[n] {
			seenN[n] = true
			rs.ns = append(rs.ns, n)
		}
		if !seenOp[k.op] {
			seenOp[k.op] = true
			rs.ops = append(rs.ops, k.op)
		}
		if !seenTool[k.tool] {
			seenTool[k.tool] = true
			rs.tools = append(rs.tools, k.tool)
		}
		rs.command[k] = c[8]
		w, err := strconv.ParseFloat(c[4], 64)
		if err != nil || c[7] != "0" {
			rs.failed[k]++
			continue
		}
		rs.wall[k] = append(rs.wall[k], w)
	}
	sort.Ints(rs.ns)
	return rs, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func secs(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case x < 1:
		return fmt.Sprintf("%.3f s", x)
	case x < 100:
		return fmt.Sprintf("%.2f s", x)
	}
	return fmt.Sprintf("%.0f s", x)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "–"
	}
	r := a / b
	switch {
	case r < 0.01:
		return fmt.Sprintf("%.4f×", r)
	case r < 10:
		return fmt.Sprintf("%.2f×", r)
	case r < 100:
		return fmt.Sprintf("%.1f×", r)
	}
	return fmt.Sprintf("%.0f×", r)
}

func (rs *runSet) med(n int, op, tool string) float64 { return median(rs.wall[key{n, op, tool}]) }

func summarize(w *strings.Builder, rs *runSet) {
	fmt.Fprintln(w, "Median wall time [min–max] (runs) per store size N (app images; the store has N + 52 images):")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| N | operation | %s | imagectl / floor | imagectl / podman |\n", strings.Join(rs.tools, " | "))
	fmt.Fprintf(w, "|---|---|%s---|---|\n", strings.Repeat("---|", len(rs.tools)))
	for _, n := range rs.ns {
		floor := rs.med(n, "floor", "floor")
		for _, op := range rs.ops {
			var cells []string
			any := false
			for _, t := range rs.tools {
				k := key{n, op, t}
				v := rs.wall[k]
				cell := "–"
				if len(v) > 0 {
					any = true
					s := append([]float64(nil), v...)
					sort.Float64s(s)
					cell = fmt.Sprintf("%s [%s–%s] (%d)", secs(median(v)), strings.TrimSuffix(secs(s[0]), " s"), secs(s[len(s)-1]), len(v))
				}
				if rs.failed[k] > 0 {
					cell += fmt.Sprintf(" %d failed", rs.failed[k])
					any = true
				}
				cells = append(cells, cell)
			}
			if !any {
				continue
			}
			vsFloor := "–"
			if op != "floor" && !strings.HasPrefix(op, "rm") && !strings.HasPrefix(op, "prune") {
				vsFloor = ratio(rs.med(n, op, "imagectl"), floor)
			}
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s |\n", n, op, strings.Join(cells, " | "), vsFloor,
				ratio(rs.med(n, op, "imagectl"), rs.med(n, op, "podman")))
		}
	}
	if len(rs.ns) > 1 {
		lo, hi := rs.ns[0], rs.ns[len(rs.ns)-1]
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Growth of the median from N=%d to N=%d (%.0f× the images):\n\n", lo, hi, float64(hi)/float64(lo))
		fmt.Fprintf(w, "| operation | %s |\n|---|%s\n", strings.Join(rs.tools, " | "), strings.Repeat("---|", len(rs.tools)))
		for _, op := range rs.ops {
			var cells []string
			for _, t := range rs.tools {
				cells = append(cells, ratio(rs.med(hi, op, t), rs.med(lo, op, t)))
			}
			fmt.Fprintf(w, "| %s | %s |\n", op, strings.Join(cells, " | "))
		}
	}
}

var toolColor = map[string]string{"floor": "#777777", "imagectl": "#1f5fbf", "podman": "#c0392b"}

// drawSVG draws one panel per operation (floor drawn in each): median time against N,
// log-log.
func drawSVG(rs *runSet) string {
	var ops []string
	for _, op := range rs.ops {
		if op != "floor" {
			ops = append(ops, op)
		}
	}
	const pw, ph, ml, mr, mt, mb = 300.0, 230.0, 62.0, 14.0, 30.0, 40.0
	cols := 3
	rows := (len(ops) + cols - 1) / cols
	width, height := float64(cols)*pw, float64(rows)*ph+50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	// legend
	x := 10.0
	for _, t := range rs.tools {
		fmt.Fprintf(&b, `<line x1="%.0f" y1="16" x2="%.0f" y2="16" stroke="%s" stroke-width="2.5"%s/>`, x, x+24, toolColor[t], dash(t))
		fmt.Fprintf(&b, `<text x="%.0f" y="20">%s</text>`+"\n", x+30, t)
		x += 110
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="20">median wall time (s, log) against store size N (app images, log)</text>`+"\n", x+10)
	minN, maxN := float64(rs.ns[0]), float64(rs.ns[len(rs.ns)-1])
	if minN == maxN {
		minN, maxN = minN/2, maxN*2
	}
	for i, op := range ops {
		ox, oy := float64(i%cols)*pw, 40+float64(i/cols)*ph
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, t := range rs.tools {
			o := op
			if t == "floor" {
				o = "floor"
			}
			for _, n := range rs.ns {
				if v := rs.med(n, o, t); !math.IsNaN(v) && v > 0 {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		if math.IsInf(lo, 1) {
			continue
		}
		ylo, yhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if yhi == ylo {
			yhi++
		}
		px := func(n float64) float64 {
			return ox + ml + (math.Log10(n)-math.Log10(minN))/(math.Log10(maxN)-math.Log10(minN))*(pw-ml-mr)
		}
		py := func(v float64) float64 { return oy + mt + (yhi-math.Log10(v))/(yhi-ylo)*(ph-mt-mb) }
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-weight="bold" font-size="12">%s</text>`+"\n", ox+ml, oy+mt-10, op)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", ox+ml, oy+mt, pw-ml-mr, ph-mt-mb)
		for e := ylo; e <= yhi; e++ {
			y := py(math.Pow(10, e))
			fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`, ox+ml, y, ox+pw-mr, y)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", ox+ml-4, y+4, tick(math.Pow(10, e)))
		}
		for _, n := range rs.ns {
			xx := px(float64(n))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#eee"/>`, xx, oy+mt, xx, oy+ph-mb)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%d</text>`+"\n", xx, oy+ph-mb+14, n)
		}
		for _, t := range rs.tools {
			o := op
			if t == "floor" {
				o = "floor"
			}
			var pts []string
			for _, n := range rs.ns {
				if v := rs.med(n, o, t); !math.IsNaN(v) && v > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(float64(n)), py(v)))
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s N=%d: %s</title></circle>`+"\n",
						px(float64(n)), py(v), toolColor[t], t, n, secs(v))
				}
			}
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), toolColor[t], dash(t))
			}
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func dash(tool string) string {
	if tool == "floor" {
		return ` stroke-dasharray="5,3"`
	}
	return ""
}

func tick(v float64) string {
	switch {
	case v >= 1:
		return fmt.Sprintf("%g s", v)
	case v >= 0.001:
		return fmt.Sprintf("%g ms", v*1000)
	}
	return fmt.Sprintf("%g µs", v*1e6)
}

var floorMetric = regexp.MustCompile(`\s([\d.]+) floor-ns/op`)

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)/N=(\d+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

// goBench summarizes go test -bench output: the median ns/op of each benchmark at each N and
// the growth from the smallest N to the largest.
func goBench(w *strings.Builder, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	vals := map[string]map[int][]float64{}
	// vsFloor holds, per destructive benchmark and N, each run's time over its own floor: on
	// a shared machine the pair of one run is measured under the same load
	vsFloor := map[string]map[int][]float64{}
	var names []string
	nset := map[int]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		v, _ := strconv.ParseFloat(m[3], 64)
		if vals[m[1]] == nil {
			vals[m[1]] = map[int][]float64{}
			names = append(names, m[1])
		}
		vals[m[1]][n] = append(vals[m[1]][n], v)
		nset[n] = true
		// a floor-ns/op metric (c/storage alone doing the same writes) becomes its own row
		if f := floorMetric.FindStringSubmatch(m[4]); f != nil {
			fname := m[1] + " (floor)"
			fv, _ := strconv.ParseFloat(f[1], 64)
			if vals[fname] == nil {
				vals[fname] = map[int][]float64{}
				names = append(names, fname)
			}
			vals[fname][n] = append(vals[fname][n], fv)
			if vsFloor[m[1]] == nil {
				vsFloor[m[1]] = map[int][]float64{}
			}
			vsFloor[m[1]][n] = append(vsFloor[m[1]][n], v/fv)
		}
	}
	var ns []int
	for n := range nset {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	if len(ns) == 0 {
		return fmt.Errorf("%s: no benchmark with /N=", path)
	}
	hdr := []string{"benchmark"}
	for _, n := range ns {
		hdr = append(hdr, fmt.Sprintf("N=%d", n))
	}
	top := ns[len(ns)-1]
	hdr = append(hdr, fmt.Sprintf("growth %d→%d", ns[0], top), fmt.Sprintf("÷ floor at N=%d (median of per-run ratios)", top), "runs")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(hdr, " | "), strings.Repeat("---|", len(hdr)))
	for _, name := range names {
		cells := []string{name}
		runs := 0
		for _, n := range ns {
			v := vals[name][n]
			runs = max(runs, len(v))
			if len(v) == 0 {
				cells = append(cells, "–")
				continue
			}
			cells = append(cells, dur(median(v)))
		}
		lo, hi := median(vals[name][ns[0]]), median(vals[name][top])
		// the operation's time over c/storage's doing the same writes (destructive ones only)
		cells = append(cells, ratio(hi, lo), ratio(median(vsFloor[name][top]), 1), strconv.Itoa(runs))
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	return nil
}

func dur(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
