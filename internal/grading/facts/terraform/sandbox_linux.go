package terraform

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sandboxRoot is where, inside the sandbox, the runner finds what it was
// given: a fresh tmpfs over /tmp holds only these.
const sandboxRoot = "/tmp/sandbox"

// unprivilegedID is the host uid and gid the sandbox's root maps to when
// the operator runs as root: nobody/nogroup, so learner code cannot read
// root's 0600 files even where a mount was left writable.
const unprivilegedID = 65534

// namespacesSupported is true on Linux; Start may still fail (user
// namespaces disabled), and the executor falls back then.
const namespacesSupported = true

// sandboxSysProcAttr starts the runner in new user, mount and PID
// namespaces, as root of its user namespace: root there maps to the
// operator's own uid, or to nobody when the operator is root (then the
// supplementary groups are cleared too).
func sandboxSysProcAttr() *syscall.SysProcAttr {
	uid, gid := os.Getuid(), os.Getgid()
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	if uid == 0 {
		uid, gid = unprivilegedID, unprivilegedID
		attr.GidMappingsEnableSetgroups = true
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}}
	}
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
	return attr
}

// sandboxOwner is who must own the scratch files the sandbox writes:
// -1 when that is the operator itself.
func sandboxOwner() int {
	if os.Getuid() == 0 {
		return unprivilegedID
	}
	return -1
}

// plainSysProcAttr is the fallback without namespaces.
func plainSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// defaultHidden are always covered by an empty tmpfs in the sandbox.
var defaultHidden = []string{"/tmp", "/var/tmp", "/root", "/home", "/run/secrets", "/var/run/secrets", "/etc/kubernetes"}

// input is one thing the runner needs inside the sandbox.
type input struct {
	name     string // file name under sandboxRoot
	path     *string
	dir      bool
	writable bool
	fd       int
}

// enterSandbox runs as root of fresh user, mount and PID namespaces (stage
// 1). It makes every mount read-only, mounts a fresh /proc, covers the
// hidden paths with empty tmpfs (or /dev/null for files), and binds the
// runner's inputs under sandboxRoot, rewriting cfg's paths to them. It
// returns warnings for mounts it could not make read-only.
func enterSandbox(cfg *RunConfig, hide []string) (warnings []string, err error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making mounts private (are we in a new mount namespace?): %w", err)
	}
	inputs := []*input{
		{name: "submission", path: &cfg.SubmissionDir, dir: true},
		{name: "kubeconfig", path: &cfg.Kubeconfig},
		{name: "work", path: &cfg.WorkDir, dir: true, writable: true},
		{name: "mirror", path: &cfg.Mirror, dir: true},
		{name: "terraform", path: &cfg.Terraform},
	}
	// Open everything before anything is hidden. The executor passes
	// /proc/self/fd/N paths for files it opened itself: the sandbox's user
	// may not be able to walk to them (an operator's HOME is 0700).
	for _, in := range inputs {
		fd, err := unix.Open(*in.path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening %s %s: %w", in.name, *in.path, err)
		}
		in.fd = fd
	}

	mounts, err := mountPoints()
	if err != nil {
		return nil, err
	}
	for _, mp := range mounts {
		if mp == "/proc" || strings.HasPrefix(mp, "/proc/") {
			continue
		}
		if err := remountReadOnly(mp); err != nil {
			warnings = append(warnings, fmt.Sprintf("could not make %s read-only: %v", mp, err))
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return warnings, fmt.Errorf("mounting a fresh /proc: %w", err)
	}

	hide = append(append([]string(nil), defaultHidden...), hide...)
	sort.Slice(hide, func(i, j int) bool { return len(hide[i]) < len(hide[j]) })
	for _, h := range hide {
		if h == "" || !filepath.IsAbs(h) || filepath.Clean(h) == "/" {
			continue
		}
		fi, err := os.Stat(h)
		if err != nil {
			continue // missing, or already under a hidden dir
		}
		if fi.IsDir() {
			err = unix.Mount("tmpfs", h, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64m,mode=0755")
		} else {
			err = unix.Mount("/dev/null", h, "", unix.MS_BIND, "")
		}
		if err != nil {
			return warnings, fmt.Errorf("hiding %s: %w", h, err)
		}
	}

	if err := os.MkdirAll(sandboxRoot, 0o755); err != nil {
		return warnings, err
	}
	for _, in := range inputs {
		target := filepath.Join(sandboxRoot, in.name)
		if in.dir {
			err = os.Mkdir(target, 0o755)
		} else {
			err = os.WriteFile(target, nil, 0o600)
		}
		if err != nil {
			return warnings, err
		}
		src := "/proc/self/fd/" + strconv.Itoa(in.fd)
		if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return warnings, fmt.Errorf("binding %s into the sandbox: %w", in.name, err)
		}
		// A bind takes the flags of the mount it comes from, which is
		// read-only by now: set them for what this input needs.
		if err := remount(target, !in.writable); err != nil {
			return warnings, fmt.Errorf("remounting %s (writable %t): %w", in.name, in.writable, err)
		}
		_ = unix.Close(in.fd)
		*in.path = target
	}
	return warnings, nil
}

// mountPoints lists this mount namespace's mount points, parents first.
func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, unescapeMountPath(fields[4]))
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.Count(out[i], "/") < strings.Count(out[j], "/") })
	return out, sc.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// remountReadOnly makes the mount at mp read-only, keeping the flags the
// kernel locks in a user namespace (nosuid, nodev, noexec, atime).
func remountReadOnly(mp string) error { return remount(mp, true) }

// remount sets a bind mount read-only or read-write, keeping the other
// flags as they are.
func remount(mp string, readOnly bool) error {
	var st unix.Statfs_t
	if err := unix.Statfs(mp, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT)
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	for _, m := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
		{0x2000 /* ST_NOSYMFOLLOW */, unix.MS_NOSYMFOLLOW},
	} {
		if uintptr(st.Flags)&m.st != 0 { //nolint:gosec // G115: a bit mask, converted for its bits, not its value.
			flags |= m.ms
		}
	}
	return unix.Mount("", mp, "", flags, "")
}

// Secure bits (linux/securebits.h): root gets no capabilities from exec,
// and that cannot be undone.
const (
	secbitNoRoot              = 1 << 0
	secbitNoRootLocked        = 1 << 1
	secbitNoSetuidFixup       = 1 << 2
	secbitNoSetuidFixupLocked = 1 << 3
	secbitKeepCapsLocked      = 1 << 5
)

// dropCapabilitiesAndExec replaces this process with argv (the runner's
// stage 2) holding no capabilities at all, so nothing started from it can
// undo the sandbox's mounts: no_new_privs, an empty bounding and ambient
// set, an empty inheritable set and SECBIT_NOROOT. Capabilities belong to
// threads, so this thread is locked and execs itself.
func dropCapabilitiesAndExec(argv, env []string) error {
	runtime.LockOSThread() // never unlocked: the thread becomes the new program
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, secbitNoRoot|secbitNoRootLocked|secbitNoSetuidFixup|secbitNoSetuidFixupLocked|secbitKeepCapsLocked, 0, 0, 0); err != nil {
		return fmt.Errorf("securebits: %w", err)
	}
	for c := 0; c < 64; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the last capability the kernel knows
			}
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing inheritable capabilities: %w", err)
	}
	return unix.Exec("/proc/self/exe", argv, env)
}

// verifyNoCapabilities is stage 2's self-check: the sandboxed runner must
// hold no capability and have no_new_privs set.
func verifyNoCapabilities() error {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	want := map[string]string{"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000", "CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1"}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if w, check := want[k]; check {
			if strings.TrimSpace(v) != w {
				return fmt.Errorf("sandbox: %s is %s, want %s", k, strings.TrimSpace(v), w)
			}
			delete(want, k)
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("sandbox: /proc/self/status lacks %v", want)
	}
	return nil
}
