package localcluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The real node changes the host: sysctls, iptables chains, a bridge,
// mounts, cgroups and a few fixed paths. Before it starts, a record of what
// the host looked like is written to hostRecordPath; Stop, and the next
// start after a crash, put the host back from it. One real node runs per
// host, under hostLockPath.
const (
	hostStateDir   = "/run/rotation-operator"
	hostLockPath   = hostStateDir + "/node.lock"
	hostRecordPath = hostStateDir + "/node.json"
)

// touchedSysctls are the sysctls the kubelet, the CNI bridge and kube-proxy
// may change (read from their code and observed on this kind of host).
var touchedSysctls = []string{
	"vm.overcommit_memory",
	"kernel.panic",
	"kernel.panic_on_oops",
	"net.ipv4.ip_forward",
	"net.ipv6.conf.all.forwarding",
	"net.ipv4.conf.all.route_localnet",
	"net.bridge.bridge-nf-call-iptables",
	"net.bridge.bridge-nf-call-ip6tables",
}

// fixedHostDirs are created by the kubelet, containerd or CNI outside any
// directory we give them (even with --root-dir). Those that did not exist
// before the node started are removed by the cleanup.
var fixedHostDirs = []string{
	"/var/lib/kubelet",
	"/var/log/containers",
	"/var/log/pods",
	"/var/lib/cni",
	"/run/containerd",
	"/etc/cni",
	"/opt/cni",
}

// hostRecord is what the cleanup needs to undo one node's side effects.
type hostRecord struct {
	Dir        string            `json:"dir"`    // the node's state dir; every mount under it is ours
	Socket     string            `json:"socket"` // containerd's socket: our shims name it
	Bridge     string            `json:"bridge"`
	Sysctls    map[string]string `json:"sysctls"`
	AbsentDirs []string          `json:"absentDirs"`
	NftTables  []string          `json:"nftTables"`
}

func newHostRecord(dir, socket, bridge string) hostRecord {
	r := hostRecord{Dir: dir, Socket: socket, Bridge: bridge, Sysctls: map[string]string{}}
	for _, k := range touchedSysctls {
		if v, err := readSysctl(k); err == nil {
			r.Sysctls[k] = v
		}
	}
	for _, d := range fixedHostDirs {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			r.AbsentDirs = append(r.AbsentDirs, d)
		}
	}
	r.NftTables = nftTables()
	return r
}

func (r hostRecord) write() error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(hostRecordPath, b, 0o600)
}

func readHostRecord() (*hostRecord, error) {
	b, err := os.ReadFile(hostRecordPath)
	if err != nil {
		return nil, err
	}
	var r hostRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s is not a node record (%w): remove it by hand after checking the host", hostRecordPath, err)
	}
	if r.Dir == "" || !filepath.IsAbs(r.Dir) || r.Bridge == "" {
		return nil, fmt.Errorf("%s names no node dir or bridge: remove it by hand after checking the host", hostRecordPath)
	}
	return &r, nil
}

// nodeLock is the machine-wide lock of the real node.
type nodeLock struct{ f *os.File }

// lockNode takes the machine-wide lock. With wait false it fails at once
// when another process holds it; the error then names that process.
func lockNode(wait bool, progress io.Writer) (*nodeLock, error) {
	if err := os.MkdirAll(hostStateDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(hostLockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(hostLockPath)
		if !wait {
			_ = f.Close()
			return nil, fmt.Errorf("the real node of this host is in use by %s", strings.TrimSpace(string(holder)))
		}
		fmt.Fprintf(progress, "waiting for the real node, in use by %s\n", strings.TrimSpace(string(holder)))
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d (%s) since %s\n", os.Getpid(), filepath.Base(os.Args[0]), time.Now().Format(time.RFC3339))), 0)
	return &nodeLock{f: f}, nil
}

func (l *nodeLock) unlock() {
	if l != nil && l.f != nil {
		_ = l.f.Truncate(0)
		_ = l.f.Close() // releases the flock
	}
}

// CleanupHost undoes what a real node left on this host after a crash (the
// record at hostRecordPath says what), and removes the record. It is a
// no-op when there is none. The caller must hold the node lock, or know
// that no node runs.
func CleanupHost(progress io.Writer) error {
	r, err := readHostRecord()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "cleaning up after an earlier real node (%s)\n", r.Dir)
	if err := r.cleanup(progress); err != nil {
		return err
	}
	return os.Remove(hostRecordPath)
}

// cleanup force-removes every side effect, in an order where each step
// frees what the next removes: processes hold mounts and cgroups, mounts
// hold the dirs.
func (r hostRecord) cleanup(progress io.Writer) error {
	var errs []error
	note := func(format string, args ...any) { fmt.Fprintf(progress, "  cleanup: "+format+"\n", args...) }

	// Our components and shims: their command lines name our dir or socket.
	for _, pid := range processesMatching(func(cmdline string) bool {
		return strings.Contains(cmdline, r.Dir+"/") || strings.Contains(cmdline, r.Socket)
	}) {
		for _, child := range childrenOf(pid) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			note("killed pid %d", pid)
		}
	}
	// Container processes whose shim is gone still sit in kubepods.
	for _, f := range filesNamed("/sys/fs/cgroup/pids/kubepods", "cgroup.procs") {
		for _, pid := range readPids(f) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				note("killed pod process %d", pid)
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // let the kernel reap before unmounting

	for _, m := range mountsUnder(r.Dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}

	for _, link := range linksWithMaster(r.Bridge) {
		_ = hostCmd("ip", "link", "del", link)
	}
	if hostCmd("ip", "link", "show", r.Bridge) == nil {
		if err := hostCmd("ip", "link", "del", r.Bridge); err != nil {
			errs = append(errs, err)
		}
	}

	errs = append(errs, removeKubeChains())
	errs = append(errs, removeKubeRouterIPSets()) // after the rules that use them
	for _, fam := range []string{"ip", "ip6"} {
		_ = hostCmd("nft", "delete", "table", fam, "kube-proxy")
	}
	// iptables-nft creates tables lazily (mangle, ip6 filter); drop those
	// that are new and empty.
	for _, t := range nftTables() {
		if contains(r.NftTables, t) {
			continue
		}
		fam, name, _ := strings.Cut(t, " ")
		if nftTableEmpty(fam, name) {
			_ = hostCmd("nft", "delete", "table", fam, name)
		}
	}

	for _, dir := range kubepodsCgroups() {
		errs = append(errs, removeCgroupTree(dir))
	}

	for k, v := range r.Sysctls {
		if now, err := readSysctl(k); err == nil && now != v {
			if err := writeSysctl(k, v); err != nil {
				errs = append(errs, err)
			} else {
				note("restored %s=%s (was %s)", k, v, now)
			}
		}
	}
	for _, d := range r.AbsentDirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HostSnapshot is the host state a real node may change, for tests that
// prove Stop and the crash cleanup put it back.
type HostSnapshot struct {
	Sysctls map[string]string
	Links   []string
	Chains  []string // "<iptables|ip6tables> <table> <chain>"
	Nft     []string // "<family> <table>"
	Cgroups []string // kubepods dirs
	Dirs    []string // fixed host dirs that exist
	Mounts  int      // mounts in all
	Procs   []string // containerd, shims, kubelet, kube-proxy and kube-router processes
	IPSets  []string // ipset names
}

// TakeHostSnapshot reads the current host state.
func TakeHostSnapshot() HostSnapshot {
	s := HostSnapshot{Sysctls: map[string]string{}}
	for _, k := range touchedSysctls {
		if v, err := readSysctl(k); err == nil {
			s.Sysctls[k] = v
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 1 {
				s.Links = append(s.Links, strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":"))
			}
		}
	}
	for _, ipt := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle"} {
			for _, ch := range chains(ipt, table) {
				s.Chains = append(s.Chains, ipt+" "+table+" "+ch)
			}
		}
	}
	s.Nft = nftTables()
	s.IPSets = ipsets()
	s.Cgroups = kubepodsCgroups()
	for _, d := range fixedHostDirs {
		if _, err := os.Stat(d); err == nil {
			s.Dirs = append(s.Dirs, d)
		}
	}
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
		s.Mounts = bytes.Count(b, []byte("\n"))
	}
	for _, pid := range processesMatching(func(cmdline string) bool {
		exe := strings.SplitN(cmdline, " ", 2)[0]
		base := filepath.Base(exe)
		return base == "containerd" || base == "containerd-shim-runc-v2" || base == "kubelet" || base == "kube-proxy" || base == "kube-router"
	}) {
		s.Procs = append(s.Procs, strconv.Itoa(pid))
	}
	sort.Strings(s.Links)
	sort.Strings(s.Chains)
	return s
}

// Diff lists how s differs from a later snapshot, one line each.
func (s HostSnapshot) Diff(after HostSnapshot) []string {
	var d []string
	for k, v := range s.Sysctls {
		if after.Sysctls[k] != v {
			d = append(d, fmt.Sprintf("sysctl %s: %s -> %s", k, v, after.Sysctls[k]))
		}
	}
	list := func(what string, a, b []string) {
		for _, x := range b {
			if !contains(a, x) {
				d = append(d, what+" added: "+x)
			}
		}
		for _, x := range a {
			if !contains(b, x) {
				d = append(d, what+" removed: "+x)
			}
		}
	}
	list("link", s.Links, after.Links)
	list("chain", s.Chains, after.Chains)
	list("nft table", s.Nft, after.Nft)
	list("ipset", s.IPSets, after.IPSets)
	list("cgroup", s.Cgroups, after.Cgroups)
	list("dir", s.Dirs, after.Dirs)
	list("process", s.Procs, after.Procs)
	if s.Mounts != after.Mounts {
		d = append(d, fmt.Sprintf("mounts: %d -> %d", s.Mounts, after.Mounts))
	}
	sort.Strings(d)
	return d
}

// removeKubeChains deletes the KUBE-* and CNI-* chains (kubelet, kube-proxy,
// kube-router's KUBE-ROUTER-*, KUBE-NWPLCY-* and KUBE-POD-FW-*, and the CNI
// plugins make them) and the rules that jump to them from the
// built-in chains. Rules are deleted by number: their comments hold quotes
// that iptables-save output does not round-trip through an argument list.
func removeKubeChains() error {
	var errs []error
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(ipt); err != nil {
			continue
		}
		for _, table := range []string{"filter", "nat", "mangle"} {
			var ours []string
			for _, ch := range chains(ipt, table) {
				if ownChain(ch) {
					ours = append(ours, ch)
					continue
				}
				out, err := exec.Command(ipt, "-t", table, "-L", ch, "-n", "--line-numbers").Output()
				if err != nil {
					continue
				}
				var nums []int
				for _, line := range strings.Split(string(out), "\n") {
					f := strings.Fields(line)
					if len(f) > 1 && ownChain(f[1]) {
						if n, err := strconv.Atoi(f[0]); err == nil {
							nums = append(nums, n)
						}
					}
				}
				sort.Sort(sort.Reverse(sort.IntSlice(nums)))
				for _, n := range nums {
					if err := hostCmd(ipt, "-t", table, "-D", ch, strconv.Itoa(n)); err != nil {
						errs = append(errs, err)
					}
				}
			}
			for _, ch := range ours {
				_ = hostCmd(ipt, "-t", table, "-F", ch)
			}
			for _, ch := range ours {
				if err := hostCmd(ipt, "-t", table, "-X", ch); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func ownChain(ch string) bool { return strings.HasPrefix(ch, "KUBE-") || strings.HasPrefix(ch, "CNI-") }

func chains(ipt, table string) []string {
	out, err := exec.Command(ipt+"-save", "-t", table).Output()
	if err != nil {
		return nil
	}
	var cs []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, ":") {
			cs = append(cs, strings.Fields(line[1:])[0])
		}
	}
	return cs
}

func nftTables() []string {
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		return nil
	}
	var ts []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "table" {
			ts = append(ts, f[1]+" "+f[2])
		}
	}
	sort.Strings(ts)
	return ts
}

// nftTableEmpty tells whether a table has no rules (only chain headers).
func nftTableEmpty(fam, name string) bool {
	out, err := exec.Command("nft", "list", "table", fam, name).Output()
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l == "}" || strings.HasPrefix(l, "table ") || strings.HasPrefix(l, "chain ") || strings.HasPrefix(l, "type ") || strings.HasPrefix(l, "policy ") {
			continue
		}
		return false
	}
	return true
}

// removeCgroupTree removes a cgroup dir and its children, deepest first.
func removeCgroupTree(root string) error {
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var last error
	for i := len(dirs) - 1; i >= 0; i-- {
		last = nil
		for try := 0; try < 20; try++ { // a dying process can hold it briefly
			if last = syscall.Rmdir(dirs[i]); last == nil || errors.Is(last, syscall.ENOENT) {
				last = nil
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if last != nil {
		return fmt.Errorf("removing cgroup %s: %w", root, last)
	}
	return nil
}

// kubepodsCgroups lists the kubelet's /kubepods cgroup in every v1
// hierarchy (and the unified one, where mounted).
func kubepodsCgroups() []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	sort.Strings(dirs)
	return dirs
}

// filesNamed lists the files called name at any depth below root.
func filesNamed(root, name string) []string {
	var files []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == name {
			files = append(files, p)
		}
		return nil
	})
	return files
}

func readPids(file string) []int {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processesMatching returns the pids whose command line (arguments joined
// by spaces) satisfies match, except our own.
func processesMatching(match func(cmdline string) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if match(strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func childrenOf(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var kids []int
	for _, f := range strings.Fields(string(b)) {
		if k, err := strconv.Atoi(f); err == nil {
			kids = append(kids, k)
		}
	}
	return kids
}

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	var ms []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && (f[1] == dir || strings.HasPrefix(f[1], dir+"/")) {
			ms = append(ms, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ms)))
	return ms
}

func linksWithMaster(bridge string) []string {
	out, err := exec.Command("ip", "-o", "link", "show", "master", bridge).Output()
	if err != nil {
		return nil
	}
	var links []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			links = append(links, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	return links
}

func sysctlPath(key string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
}

func readSysctl(key string) (string, error) {
	b, err := os.ReadFile(sysctlPath(key))
	return strings.TrimSpace(string(b)), err
}

func writeSysctl(key, value string) error {
	return os.WriteFile(sysctlPath(key), []byte(value), 0o644)
}

// hostCmd runs a host command, returning its output in the error.
func hostCmd(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
