package docker

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Bounds on a submitted Dockerfile. The submission package validates
// sizes before this; these guard every other caller.
const (
	// MaxDockerfileSize bounds the Dockerfile, in bytes.
	MaxDockerfileSize = 256 << 10
	// MaxInstructions bounds the instructions parsed.
	MaxInstructions = 1000
	// MaxFindings bounds the findings reported; findingsTruncated says so.
	MaxFindings = 200
)

// DockerfileName is the submitted file graded as the Dockerfile.
const DockerfileName = "Dockerfile"

// defaultShell is the shell of shell-form RUN, CMD and ENTRYPOINT on Linux.
var defaultShell = []string{"/bin/sh", "-c"}

// cmdLine is CMD or ENTRYPOINT as set.
type cmdLine struct {
	form string // "exec" (JSON array) or "shell"
	args []string
	line int
}

// stageConfig is the image config a stage leaves, inherited by stages
// built FROM it.
type stageConfig struct {
	user       string
	userSet    bool
	userLine   int
	expose     []string
	health     map[string]any // nil: none set
	cmd        *cmdLine
	entrypoint *cmdLine
	labels     map[string]string
	env        map[string]string
	workdir    string
	shell      []string
	external   string // the external image at the root of the chain ("" for scratch or unresolved)
}

func (c stageConfig) clone() stageConfig {
	c.expose = slices.Clone(c.expose)
	c.labels = cloneMap(c.labels)
	c.env = cloneMap(c.env)
	c.shell = slices.Clone(c.shell)
	return c
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stage is what the rules and facts need of one FROM.
type stage struct {
	index      int
	name       string
	line       int
	base       string // FROM's image, ARGs expanded
	baseStage  int    // index of the earlier stage it is built on, -1 if none
	scratch    bool
	unresolved bool // the image names an ARG without a value
	repository string
	tag        string
	digest     string
	badRef     string // why the image reference does not parse
	platform   string
	usesStages map[int]bool // COPY --from=<stage>
	cmd        instructionsOf
	config     stageConfig // after the stage
}

// instructionsOf groups a stage's commands by kind, in order.
type instructionsOf struct {
	all         []instructions.Command
	runs        []*instructions.RunCommand
	copies      []*instructions.CopyCommand
	adds        []*instructions.AddCommand
	cmds        []*instructions.CmdCommand
	entrypoints []*instructions.EntrypointCommand
	workdirs    []*instructions.WorkdirCommand
	maintainers []*instructions.MaintainerCommand
	// runShell is the shell each RUN runs with, in runs' order.
	runShell [][]string
}

// analysis is a parsed Dockerfile.
type analysis struct {
	stages  []*stage
	context []string // submitted build context files, sorted
}

func lineOf(c interface{ Location() []parser.Range }) int {
	if loc := c.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// parseDockerfile parses src with buildkit's parser, as docker build does.
// It never panics: a panic in the parser is an error.
func parseDockerfile(src string) (a *analysis, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("the Dockerfile parser failed: %v", r)
		}
	}()
	if len(src) > MaxDockerfileSize {
		return nil, fmt.Errorf("the Dockerfile is %d bytes, over the %d KiB limit", len(src), MaxDockerfileSize>>10)
	}
	res, err := parser.Parse(strings.NewReader(src))
	if err != nil {
		return nil, err
	}
	if n := len(res.AST.Children); n > MaxInstructions {
		return nil, fmt.Errorf("the Dockerfile has %d instructions, over the limit of %d", n, MaxInstructions)
	}
	if len(res.AST.Children) == 0 {
		return nil, fmt.Errorf("the Dockerfile has no instructions")
	}
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		if strings.Contains(err.Error(), "no build stage") {
			return nil, fmt.Errorf("an instruction comes before the first FROM (only ARG may): %w", err)
		}
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("the Dockerfile has no FROM instruction")
	}

	// ARGs before the first FROM, with their defaults, expand FROM lines.
	var argEnv []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				argEnv = append(argEnv, kv.Key+"="+*kv.Value)
			}
		}
	}
	lex := shell.NewLex(res.EscapeToken)
	env := shell.EnvsFromSlice(argEnv)

	a = &analysis{}
	names := map[string]int{}
	for i := range stages {
		s := &stages[i]
		line := 0
		if len(s.Location) > 0 {
			line = s.Location[0].Start.Line
		}
		st := &stage{index: i, name: s.Name, line: line, baseStage: -1, usesStages: map[int]bool{}, platform: s.Platform}
		if r, err := lex.ProcessWordWithMatches(s.BaseName, env); err == nil {
			st.base = r.Result
			st.unresolved = len(r.Unmatched) > 0
		} else {
			st.base, st.unresolved = s.BaseName, true
		}
		if idx, ok := names[strings.ToLower(st.base)]; ok {
			st.baseStage = idx
		} else if strings.EqualFold(st.base, "scratch") {
			st.scratch = true
		} else if !st.unresolved && st.base != "" {
			parseImageRef(st)
		}
		if s.Name != "" {
			if _, dup := names[s.Name]; !dup {
				names[s.Name] = i
			}
		}
		a.stages = append(a.stages, st)
	}

	for i := range stages {
		st := a.stages[i]
		var cfg stageConfig
		switch {
		case st.baseStage >= 0:
			cfg = a.stages[st.baseStage].config.clone()
		default:
			cfg = stageConfig{labels: map[string]string{}, env: map[string]string{}, shell: slices.Clone(defaultShell)}
			if !st.scratch && !st.unresolved {
				cfg.external = st.base
			}
		}
		for _, c := range stages[i].Commands {
			st.cmd.all = append(st.cmd.all, c)
			switch c := c.(type) {
			case *instructions.RunCommand:
				st.cmd.runs = append(st.cmd.runs, c)
				st.cmd.runShell = append(st.cmd.runShell, slices.Clone(cfg.shell))
			case *instructions.CopyCommand:
				st.cmd.copies = append(st.cmd.copies, c)
				if c.From != "" {
					if idx, ok := stageRef(c.From, names, i); ok {
						st.usesStages[idx] = true
					}
				}
			case *instructions.AddCommand:
				st.cmd.adds = append(st.cmd.adds, c)
			case *instructions.CmdCommand:
				st.cmd.cmds = append(st.cmd.cmds, c)
				cfg.cmd = &cmdLine{form: form(c.PrependShell), args: slices.Clone(c.CmdLine), line: lineOf(c)}
			case *instructions.EntrypointCommand:
				st.cmd.entrypoints = append(st.cmd.entrypoints, c)
				cfg.entrypoint = &cmdLine{form: form(c.PrependShell), args: slices.Clone(c.CmdLine), line: lineOf(c)}
				cfg.cmd = nil // as docker build does: ENTRYPOINT resets the inherited CMD
			case *instructions.UserCommand:
				cfg.user, cfg.userSet, cfg.userLine = c.User, true, lineOf(c)
			case *instructions.ExposeCommand:
				for _, p := range c.Ports {
					for _, f := range strings.Fields(p) {
						if !strings.Contains(f, "/") {
							f += "/tcp"
						}
						if !slices.Contains(cfg.expose, f) {
							cfg.expose = append(cfg.expose, f)
						}
					}
				}
			case *instructions.HealthCheckCommand:
				cfg.health = healthFacts(c, lineOf(c))
			case *instructions.LabelCommand:
				for _, kv := range c.Labels {
					cfg.labels[kv.Key] = kv.Value
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					cfg.env[kv.Key] = kv.Value
				}
			case *instructions.WorkdirCommand:
				st.cmd.workdirs = append(st.cmd.workdirs, c)
				if path.IsAbs(c.Path) || cfg.workdir == "" {
					cfg.workdir = c.Path
				} else {
					cfg.workdir = path.Join(cfg.workdir, c.Path)
				}
			case *instructions.ShellCommand:
				cfg.shell = slices.Clone(c.Shell)
			case *instructions.MaintainerCommand:
				st.cmd.maintainers = append(st.cmd.maintainers, c)
			}
		}
		sort.Strings(cfg.expose)
		st.config = cfg
	}
	return a, nil
}

// stageRef resolves COPY --from: a stage name or index before stage cur.
func stageRef(from string, names map[string]int, cur int) (int, bool) {
	if idx, ok := names[strings.ToLower(from)]; ok {
		return idx, true
	}
	if n, err := strconv.Atoi(from); err == nil && n >= 0 && n <= cur {
		return n, true
	}
	return 0, false
}

func form(prependShell bool) string {
	if prependShell {
		return "shell"
	}
	return "exec"
}

func parseImageRef(st *stage) {
	named, err := reference.ParseNormalizedNamed(st.base)
	if err != nil {
		st.badRef = err.Error()
		return
	}
	st.repository = reference.FamiliarName(named)
	if t, ok := named.(reference.Tagged); ok {
		st.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		st.digest = d.Digest().String()
	}
}

func healthFacts(c *instructions.HealthCheckCommand, line int) map[string]any {
	h := c.Health
	out := map[string]any{"line": int64(line), "test": []any{}, "none": false}
	if h == nil {
		return out
	}
	test := make([]any, len(h.Test))
	for i, t := range h.Test {
		test[i] = t
	}
	out["test"] = test
	out["none"] = len(h.Test) > 0 && h.Test[0] == "NONE"
	out["interval"] = durationString(h.Interval)
	out["timeout"] = durationString(h.Timeout)
	out["startPeriod"] = durationString(h.StartPeriod)
	out["retries"] = int64(h.Retries)
	return out
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// final is the stage the image is built from: the last one.
func (a *analysis) final() *stage { return a.stages[len(a.stages)-1] }

// inImage reports the stages whose layers end up in the final image: the
// last stage and the stages it is built FROM, not those it only copies from.
func (a *analysis) inImage() map[int]bool {
	out := map[int]bool{}
	for i := len(a.stages) - 1; i >= 0; {
		out[i] = true
		i = a.stages[i].baseStage
	}
	return out
}

// usesEarlierStage reports whether the final image is built from or copies
// from another stage: a multi-stage build.
func (a *analysis) multiStage() bool {
	f := a.final()
	if len(a.stages) < 2 {
		return false
	}
	if f.baseStage >= 0 {
		return true
	}
	for idx := range f.usesStages {
		if idx != f.index {
			return true
		}
	}
	return false
}

// runText is the shell script a RUN runs: its command line and heredocs.
func runText(r *instructions.RunCommand) string {
	var b strings.Builder
	b.WriteString(strings.Join(r.CmdLine, " "))
	for _, f := range r.Files {
		b.WriteByte('\n')
		b.WriteString(f.Data)
	}
	return b.String()
}
