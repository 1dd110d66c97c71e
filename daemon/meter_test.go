package daemon

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A costMeter reports what each op of a floor benchmark cost a process
// besides wall time: its context switches (voluntary and involuntary, all
// threads), its page faults and its CPU time (user and system). Unlike ns/op these hardly
// move with the machine's load, so they show a hand-off removed or added
// where the wall clock of a noisy machine cannot.
type costMeter struct {
	label string
	read  func() (procCost, error)
	start procCost
}

// procCost is a process's context switches, page faults and CPU time so
// far.
type procCost struct {
	switches, faults uint64
	cpu              time.Duration
}

// meterSelf meters this process: the client side of a child benchmark, or
// the whole of a local one.
func meterSelf(b *testing.B, label string) *costMeter {
	return newMeter(b, label, selfCost)
}

// meterChild meters the process pid, the daemon or floor server a
// benchmark started.
func meterChild(b *testing.B, label string, pid int) *costMeter {
	return newMeter(b, label, func() (procCost, error) { return childCost(pid) })
}

func newMeter(b *testing.B, label string, read func() (procCost, error)) *costMeter {
	start, err := read()
	if err != nil {
		b.Fatal(err)
	}
	return &costMeter{label: label, read: read, start: start}
}

// report adds label-switches/op, label-faults/op and label-cpu-µs/op to
// b's results.
func (m *costMeter) report(b *testing.B) {
	end, err := m.read()
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric(float64(end.switches-m.start.switches)/n, m.label+"-switches/op")
	b.ReportMetric(float64(end.faults-m.start.faults)/n, m.label+"-faults/op")
	b.ReportMetric(float64((end.cpu-m.start.cpu).Microseconds())/n, m.label+"-cpu-µs/op")
}

func selfCost() (procCost, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return procCost{}, fmt.Errorf("getrusage: %w", err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return procCost{switches: uint64(ru.Nvcsw + ru.Nivcsw), faults: uint64(ru.Minflt + ru.Majflt), cpu: cpu}, nil
}

// childCost sums the context switches of every thread of pid (its
// /proc/PID/status counts only the main thread's) and reads its page
// faults and CPU time (in clock ticks of 10 ms) from /proc/PID/stat.
func childCost(pid int) (procCost, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return procCost{}, fmt.Errorf("list the threads of %d: %v", pid, err)
	}
	var c procCost
	for _, t := range tasks {
		n, err := taskSwitches(t)
		if err != nil {
			return procCost{}, err
		}
		c.switches += n
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procCost{}, fmt.Errorf("read the cpu time of %d: %w", pid, err)
	}
	// The command in parentheses may hold spaces: fields count from its end.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return procCost{}, fmt.Errorf("read the cpu time of %d: short stat %q", pid, stat)
	}
	sum := func(at ...int) (uint64, error) {
		var n uint64
		for _, i := range at {
			v, err := strconv.ParseUint(fields[i], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read the stat of %d: %w", pid, err)
			}
			n += v
		}
		return n, nil
	}
	// After the command: state, ppid, ..., minflt (8), majflt (10),
	// utime (11), stime (12).
	if c.faults, err = sum(7, 9); err != nil {
		return procCost{}, err
	}
	ticks, err := sum(11, 12)
	c.cpu = time.Duration(ticks) * 10 * time.Millisecond
	return c, err
}

func taskSwitches(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read context switches: %w", err)
	}
	defer f.Close()
	var n uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasSuffix(k, "voluntary_ctxt_switches") {
			continue
		}
		x, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read context switches in %s: %w", path, err)
		}
		n += x
	}
	return n, sc.Err()
}
