package bench

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

var (
	samples       = flag.Int("bench.samples", 40, "Update and ConnectInfo calls per size")
	seqTerminates = flag.Int("bench.seqterminate", 1000, "instances the sequential-terminate floor terminates (extrapolated to 1000 when fewer)")
	tableOut      = flag.String("bench.table", "", "also write the table to this file")
)

// world is what the benchmarks share: the binaries, the unthrottled
// simulator and the plugin processes kept for later figures.
type world struct {
	dir       string
	pluginBin string
	dummyBin  string
	sim       *awssim.Sim
	plugins   map[groupCase]*plugin
	started   time.Time
}

var (
	w    *world
	rows Rows
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run()) // no benchmarks asked for: nothing to set up
	}
	var err error
	if w, err = setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "bench set-up:", err)
		os.Exit(1)
	}
	code := m.Run()
	tearDown(code == 0)
	if rows.Len() > 0 {
		fmt.Printf("\nfleeting-plugin-ec2spot benchmarks (%s of API latency, simulator x%d, wall %s)\n\n", apiLatency, simSpeed, time.Since(w.started).Round(time.Second))
		rows.Markdown(os.Stdout)
		if *tableOut != "" {
			f, err := os.Create(*tableOut)
			if err == nil {
				rows.Markdown(f)
				err = f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "writing table:", err)
			}
		}
	}
	os.Exit(code)
}

func setUp() (*world, error) {
	dir, err := os.MkdirTemp("", "ec2spot-bench-")
	if err != nil {
		return nil, err
	}
	wd := &world{dir: dir, plugins: map[groupCase]*plugin{}, started: time.Now()}
	if f, err := os.Create(filepath.Join(dir, "plugins.log")); err == nil {
		logFile = f
	}
	if wd.pluginBin, err = buildBinary(dir, "gitlab.com/ec2spot/fleeting-plugin-ec2spot/cmd/fleeting-plugin-ec2spot", "fleeting-plugin-ec2spot"); err != nil {
		return nil, err
	}
	if wd.dummyBin, err = buildBinary(dir, "gitlab.com/gitlab-org/fleeting/fleeting/plugin/fleeting-plugin-dummy/cmd/fleeting-plugin-dummy", "fleeting-plugin-dummy"); err != nil {
		return nil, err
	}
	if wd.sim, err = startSim(false); err != nil {
		return nil, err
	}
	return wd, nil
}

// tearDown stops everything; the plugins' logs stay when the run failed.
func tearDown(ok bool) {
	for _, p := range w.plugins {
		p.runner.Kill()
	}
	_ = w.sim.Close()
	if !ok {
		fmt.Fprintln(os.Stderr, "plugin logs kept in", w.dir)
		return
	}
	_ = os.RemoveAll(w.dir)
}
