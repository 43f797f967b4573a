package operatorimage

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// stage is one FROM ... of a Dockerfile and its instructions.
type stage struct {
	name, from   string
	instructions [][2]string // command (upper case), arguments
}

// parseDockerfile reads the stages of a Dockerfile: continuation lines
// joined, comments dropped. Enough for this repository's Dockerfile.
func parseDockerfile(t *testing.T, src string) []stage {
	t.Helper()
	var (
		stages []stage
		line   string
	)
	for _, raw := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(raw)
		if line == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			line += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		line += trimmed
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		cmd, args = strings.ToUpper(cmd), strings.TrimSpace(args)
		if cmd == "FROM" {
			f := strings.Fields(args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if cmd != "ARG" {
				t.Fatalf("Dockerfile: %s before FROM", cmd)
			}
			continue
		}
		s := &stages[len(stages)-1]
		s.instructions = append(s.instructions, [2]string{cmd, args})
	}
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.instructions {
		if in[0] == cmd {
			out = append(out, in[1])
		}
	}
	return out
}

func (s stage) last(cmd string) string {
	all := s.all(cmd)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// argDefault is the default of ARG name in the stage.
func (s stage) argDefault(name string) string {
	for _, a := range s.all("ARG") {
		if k, v, ok := strings.Cut(a, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// TestDockerfileEquivalence keeps Build and the Dockerfile in step: the
// final stage's COPY destinations are exactly the programs Build puts in
// (from the same kind of build), its USER, ENTRYPOINT and WORKDIR are the
// image's, the provider sits at the same place in the mirror, and every
// file of the image is a COPY destination or one of the base image's.
func TestDockerfileEquivalence(t *testing.T) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(src))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stages", len(stages))
	}
	final := stages[len(stages)-1]
	byName := map[string]stage{}
	for _, s := range stages[:len(stages)-1] {
		byName[s.name] = s
	}
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") || !strings.HasSuffix(final.from, ":nonroot") {
		t.Errorf("final stage FROM %s: Build recreates distroless static :nonroot's users and /tmp; check BaseFiles when the base changes", final.from)
	}

	cfg := Config()
	if got := final.last("USER"); got != cfg.User {
		t.Errorf("Dockerfile USER %q, image user %q", got, cfg.User)
	}
	var entrypoint []string
	if err := json.Unmarshal([]byte(final.last("ENTRYPOINT")), &entrypoint); err != nil || !slices.Equal(entrypoint, cfg.Entrypoint) {
		t.Errorf("Dockerfile ENTRYPOINT %s (%v), image entrypoint %q", final.last("ENTRYPOINT"), err, cfg.Entrypoint)
	}
	if got := final.last("WORKDIR"); got != cfg.WorkingDir {
		t.Errorf("Dockerfile WORKDIR %q, image working dir %q", got, cfg.WorkingDir)
	}

	// COPY --from=STAGE SRC DST, one for each program.
	copies := map[string]string{} // destination -> stage
	for _, c := range final.all("COPY") {
		f := strings.Fields(c)
		from := ""
		var rest []string
		for _, a := range f {
			if v, ok := strings.CutPrefix(a, "--from="); ok {
				from = v
			} else if strings.HasPrefix(a, "--") {
				t.Errorf("COPY %s: flag %s is not mirrored by Build", c, a)
			} else {
				rest = append(rest, a)
			}
		}
		if len(rest) != 2 || from == "" {
			t.Errorf("COPY %s: want COPY --from=STAGE SRC DST", c)
			continue
		}
		copies[rest[1]] = from
	}
	wantDest := []string{ManagerPath, RegistryPath, TerraformPath, MirrorPath}
	var gotDest []string
	for d := range copies {
		gotDest = append(gotDest, d)
	}
	slices.Sort(gotDest)
	slices.Sort(wantDest)
	if !slices.Equal(gotDest, wantDest) {
		t.Fatalf("the Dockerfile copies to %q, Build puts programs at %q", gotDest, wantDest)
	}

	// /manager and /lab-registry: the builder's go build, with Build's flags.
	for dest, pkg := range map[string]string{ManagerPath: Package, RegistryPath: RegistryPackage} {
		builder := byName[copies[dest]]
		var build string
		for _, r := range builder.all("RUN") {
			if strings.Contains(r, pkg) {
				build = r
			}
		}
		for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", `-ldflags="-s -w"`, pkg, "-o " + strings.TrimPrefix(path.Base(dest), "/")} {
			if !strings.Contains(build, want) {
				t.Errorf("the Dockerfile builds %s without %s: %q", dest, want, build)
			}
		}
	}
	args := strings.Join(BuildArgs("OUT"), " ")
	for _, want := range []string{"-trimpath", "-ldflags=-s -w", Package} {
		if !strings.Contains(args, want) {
			t.Errorf("Build's go build lacks %s: %s", want, args)
		}
	}
	if !slices.Contains(BuildEnv(GOARCH), "CGO_ENABLED=0") {
		t.Errorf("Build's go build is not static: %q", BuildEnv(GOARCH))
	}

	// terraform: from the terraform image.
	if tf := byName[copies[TerraformPath]]; !strings.HasPrefix(tf.from, "hashicorp/terraform:") {
		t.Errorf("%s comes from %s, want the hashicorp/terraform image", TerraformPath, tf.from)
	}

	// The mirror: the provider at the same place, at the version the
	// toolchain builds.
	prov := byName[copies[MirrorPath]]
	version := prov.argDefault("PROVIDER_VERSION")
	if version != toolchain.TerraformProviderVersion {
		t.Errorf("Dockerfile PROVIDER_VERSION %q, toolchain.TerraformProviderVersion %q", version, toolchain.TerraformProviderVersion)
	}
	provRun := strings.NewReplacer("${TARGETOS:-linux}", "linux", "${TARGETARCH:-amd64}", GOARCH, "${TARGETARCH}", GOARCH, "${PROVIDER_VERSION}", version).Replace(strings.Join(prov.all("RUN"), "\n"))
	dir := regexp.MustCompile(`dir=(\S+)`).FindStringSubmatch(provRun)
	file := regexp.MustCompile(`"\$dir/([^"]+)"`).FindStringSubmatch(provRun)
	if dir == nil || file == nil {
		t.Fatalf("cannot find the provider's place in the mirror in: %s", provRun)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`} {
		if !strings.Contains(provRun, want) {
			t.Errorf("the Dockerfile builds the provider without %s", want)
		}
	}
	copySrc := ""
	for _, c := range final.all("COPY") {
		if f := strings.Fields(c); f[len(f)-1] == MirrorPath {
			copySrc = f[len(f)-2]
		}
	}
	inMirror, ok := strings.CutPrefix(dir[1]+"/"+file[1], strings.TrimSuffix(copySrc, "/")+"/")
	if !ok {
		t.Fatalf("the provider %s/%s is not under the copied %s", dir[1], file[1], copySrc)
	}
	if want := toolchain.TerraformProviderMirrorPath("linux", GOARCH); inMirror != want {
		t.Errorf("the Dockerfile puts the provider at %s in the mirror, Build at %s", inMirror, want)
	}

	// Every file of the image is a COPY destination (or under one), or one
	// of the base image's (BaseFiles); every destination is there.
	img := build(t, t.TempDir(), nil)
	base := map[string]bool{}
	for _, f := range labimages.BaseFiles() {
		base[f.Name] = true
	}
	present := map[string]bool{}
	for _, layer := range files(t, img) {
		for _, f := range layer {
			p := "/" + strings.TrimSuffix(f.hdr.Name, "/")
			present[p] = true
			if base[f.hdr.Name] || f.hdr.Typeflag == '5' {
				continue
			}
			under := false
			for d := range copies {
				under = under || p == d || strings.HasPrefix(p, d+"/")
			}
			if !under {
				t.Errorf("the image has %s, which the Dockerfile does not copy", p)
			}
		}
	}
	for d := range copies {
		if !present[d] {
			t.Errorf("the Dockerfile copies to %s, which the image lacks", d)
		}
	}
	if !present[MirrorPath+"/"+inMirror] {
		t.Errorf("the image has no provider at %s/%s", MirrorPath, inMirror)
	}
}
