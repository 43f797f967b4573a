package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// nodePackages are the Debian packages that hold the real node's runtime,
// and the files that show each is installed.
var nodePackages = []struct {
	pkg   string
	files []string
}{
	{"containerd", []string{"/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/ctr"}},
	{"runc", []string{"/usr/sbin/runc"}},
	{"containernetworking-plugins", []string{cniBinDir + "/bridge", cniBinDir + "/host-local", cniBinDir + "/portmap", cniBinDir + "/loopback"}},
	{"iptables", []string{"/usr/sbin/iptables", "/usr/sbin/iptables-save", "/usr/sbin/ip6tables"}},
	{"conntrack", []string{"/usr/sbin/conntrack"}},
	{"ipset", []string{"/usr/sbin/ipset"}}, // kube-router's network policy controller
}

// cniBinDir is where Debian's containernetworking-plugins puts the plugins.
const cniBinDir = "/usr/lib/cni"

// missingPackages lists the node packages whose files are not all present.
func missingPackages() []string {
	var missing []string
	for _, p := range nodePackages {
		for _, f := range p.files {
			if _, err := os.Stat(f); err != nil {
				missing = append(missing, p.pkg)
				break
			}
		}
	}
	return missing
}

// RealNodeSupport tells whether this host can run the real node, and if
// not, why, in one line. It does not install anything: a host that lacks
// only packages but has apt-get and root counts as able.
func RealNodeSupport() (bool, string) {
	_, aptErr := exec.LookPath("apt-get")
	_, cgErr := os.Stat("/sys/fs/cgroup")
	return hostFacts{
		goos:            runtime.GOOS,
		euid:            os.Geteuid(),
		cgroups:         cgErr == nil,
		foreignKubepods: foreignKubepods(),
		missing:         missingPackages(),
		apt:             aptErr == nil,
	}.support()
}

// hostFacts are what decides whether the real node can run.
type hostFacts struct {
	goos            string
	euid            int
	cgroups         bool
	foreignKubepods string
	missing         []string
	apt             bool
}

func (h hostFacts) support() (bool, string) {
	switch {
	case h.goos != "linux":
		return false, "the real node needs Linux (this is " + h.goos + ")"
	case h.euid != 0:
		return false, "the real node needs root (kubelet, containerd and the CNI bridge change the host)"
	case !h.cgroups:
		return false, "the real node needs cgroups (/sys/fs/cgroup is missing)"
	case h.foreignKubepods != "":
		return false, "another kubelet seems to run on this host (" + h.foreignKubepods + " exists)"
	case len(h.missing) > 0 && !h.apt:
		return false, "the real node needs the packages " + strings.Join(h.missing, ", ") + " and there is no apt-get to install them"
	}
	return true, ""
}

// foreignKubepods returns a kubepods cgroup that exists while no node of
// ours is recorded, i.e. one some other kubelet owns ("" if none).
func foreignKubepods() string {
	if _, err := os.Stat(hostRecordPath); err == nil {
		return "" // ours, left by a crash; the cleanup removes it
	}
	if dirs := kubepodsCgroups(); len(dirs) > 0 {
		return dirs[0]
	}
	return ""
}

// ensurePackages installs the missing node packages with apt-get. A
// half-configured dpkg (an install killed midway) is repaired first.
func ensurePackages(ctx context.Context, progress io.Writer) error {
	missing := missingPackages()
	if len(missing) == 0 {
		return nil
	}
	start := time.Now()
	fmt.Fprintf(progress, "installing the real node's runtime with apt-get: %s\n", strings.Join(missing, " "))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	apt := func(args ...string) error {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 2000))
		}
		return nil
	}
	_ = apt("dpkg", "--configure", "-a")
	install := append([]string{"apt-get", "install", "-y", "--no-install-recommends"}, missing...)
	if err := apt(install...); err != nil {
		// The package lists may be missing or stale on a fresh machine.
		if uerr := apt("apt-get", "update"); uerr != nil {
			return errors.Join(err, uerr)
		}
		if err := apt(install...); err != nil {
			return err
		}
	}
	if still := missingPackages(); len(still) > 0 {
		return fmt.Errorf("apt-get installed, yet files of %s are missing", strings.Join(still, ", "))
	}
	fmt.Fprintf(progress, "  installed in %s\n", time.Since(start).Round(time.Second))
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
