package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// childCPU returns the CPU time, in seconds, of this process's child
// processes by command name (etcd, kube-apiserver, kube-controller-manager,
// the operator): where a phase's CPU went on a shared machine, whatever the
// other load.
func childCPU() map[string]float64 {
	out := map[string]float64{}
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 13 || fields[1] != self {
			continue
		}
		utime, err1 := strconv.ParseFloat(fields[11], 64)
		stime, err2 := strconv.ParseFloat(fields[12], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out[s[open+1:end]] += (utime + stime) / clockTicks
	}
	return out
}

// cpuSince is the CPU time per command name spent since before.
func cpuSince(before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for name, v := range childCPU() {
		if d := v - before[name]; d > 0 {
			out[name] = d
		}
	}
	return out
}
