//go:build linux

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// TestDoubleInterruptStopsEverything runs the built operator on the
// embedded control plane (fake node), interrupts it twice in quick
// succession, as an impatient Ctrl-C Ctrl-C does, and checks it still
// tears everything down and exits 0: no etcd, kube-apiserver or other
// component it started is left.
func TestDoubleInterruptStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded control plane (about a minute warm)")
	}
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "rotation-operator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--embedded=always", "--node=fake")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG=")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	var mu sync.Mutex
	var out strings.Builder
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Ready ") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the operator did not print its next steps:\n%s", output())
	}

	children := descendants(cmd.Process.Pid)
	names := map[string]bool{}
	for _, p := range children {
		names[p.comm] = true
	}
	for _, want := range []string{"etcd", "kube-apiserver"} {
		if !names[want] {
			t.Fatalf("no %s among the operator's processes %v", want, children)
		}
	}

	start := time.Now()
	must(t, cmd.Process.Signal(syscall.SIGINT))
	time.Sleep(300 * time.Millisecond)
	must(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	t.Logf("stopped %s after the first interrupt", time.Since(start).Round(10*time.Millisecond))
	if err != nil {
		t.Fatalf("exit after two interrupts: %v (want status 0)\n%s", err, output())
	}
	if !strings.Contains(output(), "already stopping") {
		t.Errorf("the second interrupt was not acknowledged:\n%s", output())
	}
	for _, p := range children {
		if p.alive() {
			t.Errorf("%s (pid %d) outlived the operator", p.comm, p.pid)
		}
	}
}

type proc struct {
	pid       int
	comm      string
	state     string
	startTime string // distinguishes a reused pid
}

// alive: the same process (not a reused pid) exists and is no zombie.
func (p proc) alive() bool {
	q, ok := readProc(p.pid)
	return ok && q.startTime == p.startTime && q.state != "Z"
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []proc {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	procs := map[int]proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(n); ok {
			procs[n] = p
			parent[n] = ppidOf(n)
		}
	}
	var out []proc
	for n, p := range procs {
		for a := parent[n]; a > 1; a = parent[a] {
			if a == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// readProc reads a process's name, state and start time (fields 2, 3
// and 22 of /proc/PID/stat).
func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < 0 {
		return proc{}, false
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 20 {
		return proc{}, false
	}
	return proc{pid: pid, comm: s[open+1 : closing], state: f[0], startTime: f[19]}, true
}

func ppidOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, _ := strconv.Atoi(f[1])
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
