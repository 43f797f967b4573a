package docker

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"path"
	"slices"
	"sort"
	"strings"
)

// Severities, as hadolint names them.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Rule is one Dockerfile rule. DL rules are hadolint's, with its ids and
// meaning (https://github.com/hadolint/hadolint/wiki/<id>); RO rules are
// this operator's own.
type Rule struct {
	ID       string
	Severity string
	Summary  string
}

// URL is where a learner reads more about the rule.
func (r Rule) URL() string {
	if strings.HasPrefix(r.ID, "DL") {
		return "https://github.com/hadolint/hadolint/wiki/" + r.ID
	}
	return ""
}

var rules = []Rule{
	{"DL3000", SeverityError, "Use absolute WORKDIR."},
	{"DL3002", SeverityWarning, "Last USER should not be root."},
	{"DL3003", SeverityWarning, "Use WORKDIR to switch to a directory."},
	{"DL3004", SeverityError, "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root."},
	{"DL3006", SeverityWarning, "Always tag the version of an image explicitly."},
	{"DL3007", SeverityWarning, "Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag."},
	{"DL3008", SeverityWarning, "Pin versions in apt-get install."},
	{"DL3009", SeverityInfo, "Delete the apt-get lists after installing something."},
	{"DL3015", SeverityInfo, "Avoid additional packages by specifying --no-install-recommends."},
	{"DL3020", SeverityError, "Use COPY instead of ADD for files and folders."},
	{"DL3023", SeverityError, "COPY --from cannot reference its own FROM alias."},
	{"DL3024", SeverityError, "FROM aliases (stage names) must be unique."},
	{"DL3025", SeverityWarning, "Use arguments JSON notation for CMD and ENTRYPOINT arguments."},
	{"DL3057", SeverityInfo, "HEALTHCHECK instruction missing."},
	{"DL4000", SeverityError, "MAINTAINER is deprecated."},
	{"DL4003", SeverityWarning, "Multiple CMD instructions found."},
	{"DL4004", SeverityError, "Multiple ENTRYPOINT instructions found."},
	{"DL4006", SeverityWarning, "Set the SHELL option -o pipefail before RUN with a pipe in it."},
	{"RO001", SeverityWarning, "Use a multi-stage build: build in one stage, copy only what runs into the final one."},
	{"RO002", SeverityWarning, "Use a numeric USER so Kubernetes can verify runAsNonRoot."},
	{"RO003", SeverityWarning, "COPY and ADD sources must be in the submitted build context."},
}

var rulesByID = func() map[string]Rule {
	m := make(map[string]Rule, len(rules))
	for _, r := range rules {
		m[r.ID] = r
	}
	return m
}()

// Rules returns the rule set, by id.
func Rules() []Rule { return slices.Clone(rules) }

// finding is one rule violated at one line.
type finding struct {
	rule    string
	line    int
	message string
}

type findings []finding

func (f *findings) add(rule string, line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	*f = append(*f, finding{rule: rule, line: line, message: msg})
}

// lint runs every rule over a parsed Dockerfile.
func lint(a *analysis) findings {
	var f findings
	inImage := a.inImage()
	seenNames := map[string]int{}
	for _, st := range a.stages {
		if st.name != "" {
			if first, dup := seenNames[st.name]; dup {
				f.add("DL3024", st.line, "DL3024: stage name %q is already used by the stage at line %d; stage names must be unique", st.name, a.stages[first].line)
			} else {
				seenNames[st.name] = st.index
			}
		}
		lintFrom(&f, st)
		lintStage(&f, a, st, inImage[st.index])
	}
	lintFinal(&f, a)
	sort.SliceStable(f, func(i, j int) bool { return f[i].line < f[j].line })
	return f
}

func lintFrom(f *findings, st *stage) {
	switch {
	case st.baseStage >= 0, st.scratch, st.unresolved:
	case st.badRef != "":
		// docker build refuses it too; report it under DL3006's heading.
		f.add("DL3006", st.line, "DL3006: FROM %s is not a valid image reference (%s)", st.base, st.badRef)
	case st.digest != "":
	case st.tag == "":
		f.add("DL3006", st.line, "DL3006: FROM %s has no tag: pin a version, e.g. FROM %s:<version>", st.base, st.base)
	case st.tag == "latest":
		f.add("DL3007", st.line, "DL3007: FROM %s uses the latest tag, which changes under you: pin a release tag (or a digest)", st.base)
	}
}

func lintStage(f *findings, a *analysis, st *stage, inImage bool) {
	c := &st.cmd
	for _, w := range c.workdirs {
		p := w.Path
		windowsDrive := len(p) > 1 && p[1] == ':'
		if !path.IsAbs(p) && !strings.HasPrefix(p, "$") && !windowsDrive {
			f.add("DL3000", lineOf(w), "DL3000: WORKDIR %s is relative: use an absolute path", p)
		}
	}
	for _, m := range c.maintainers {
		f.add("DL4000", lineOf(m), "DL4000: MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=%q", m.Maintainer)
	}
	if len(c.cmds) > 1 {
		f.add("DL4003", lineOf(c.cmds[1]), "DL4003: the stage has %d CMD instructions; only the last one takes effect", len(c.cmds))
	}
	if len(c.entrypoints) > 1 {
		f.add("DL4004", lineOf(c.entrypoints[1]), "DL4004: the stage has %d ENTRYPOINT instructions; only the last one takes effect", len(c.entrypoints))
	}
	for _, cmd := range c.cmds {
		if cmd.PrependShell {
			f.add("DL3025", lineOf(cmd), `DL3025: CMD in shell form runs under /bin/sh -c, which does not forward signals: use JSON, e.g. CMD ["/app", "--flag"]`)
		}
	}
	for _, e := range c.entrypoints {
		if e.PrependShell {
			f.add("DL3025", lineOf(e), `DL3025: ENTRYPOINT in shell form runs under /bin/sh -c, which does not forward signals: use JSON, e.g. ENTRYPOINT ["/app"]`)
		}
	}
	for _, ad := range c.adds {
		var local []string
		for _, src := range ad.SourcePaths {
			if !isRemote(src) && !isArchive(src) {
				local = append(local, src)
			}
		}
		if len(ad.SourceContents) > 0 {
			local = append(local, "<<heredoc")
		}
		if len(local) > 0 {
			f.add("DL3020", lineOf(ad), "DL3020: ADD %s copies local files: use COPY, ADD is for URLs and archives to unpack", strings.Join(local, " "))
		}
	}
	for _, cp := range c.copies {
		if cp.From == "" {
			continue
		}
		if idx, ok := stageRefByName(a, cp.From); ok && idx == st.index {
			f.add("DL3023", lineOf(cp), "DL3023: COPY --from=%s refers to its own stage", cp.From)
		}
	}
	for i, r := range c.runs {
		lintRun(f, r, c.runShell[i], inImage)
	}
}

func stageRefByName(a *analysis, from string) (int, bool) {
	for _, s := range a.stages {
		if s.name != "" && strings.EqualFold(s.name, from) {
			return s.index, true
		}
	}
	return 0, false
}

func lintRun(f *findings, r *instructions.RunCommand, sh []string, inImage bool) {
	line := lineOf(r)
	text := runText(r)
	script := splitShell(text)
	for _, cmd := range script.commands {
		prog, _, sudo := program(cmd)
		if sudo {
			f.add("DL3004", line, "DL3004: RUN uses sudo: build steps already run as the stage's USER; switch with USER root and back instead")
			break
		}
		if prog == "cd" {
			f.add("DL3003", line, "DL3003: RUN uses cd: set the directory with WORKDIR instead")
			break
		}
	}
	installs, update := aptInstalls(script)
	for _, in := range installs {
		var unpinned []string
		for _, p := range in.packages {
			if !strings.Contains(p, "=") && !strings.HasSuffix(p, ".deb") && !strings.Contains(p, "/") && !strings.HasPrefix(p, "$") {
				unpinned = append(unpinned, p)
			}
		}
		if len(unpinned) > 0 {
			f.add("DL3008", line, "DL3008: %s install %s: pin each package's version, e.g. %s=<version>", in.program, strings.Join(unpinned, " "), unpinned[0])
		}
		if !in.noRecommends {
			f.add("DL3015", line, "DL3015: %s install without --no-install-recommends pulls in packages you did not ask for", in.program)
		}
	}
	// Only stages that end up in the image: a build stage's apt lists are
	// thrown away with it.
	if inImage && (len(installs) > 0 || update) && !removesAptLists(script) &&
		!strings.Contains(r.String(), "/var/lib/apt/lists") {
		f.add("DL3009", line, "DL3009: the apt lists stay in the image: end the same RUN with && rm -rf /var/lib/apt/lists/*")
	}
	if script.pipe && r.PrependShell && posixShell(sh) && !hasPipefail(sh) && !script.pipefailBeforePipe {
		f.add("DL4006", line, `DL4006: RUN has a pipe, and a failing command before the | does not fail the build: add SHELL ["/bin/bash", "-o", "pipefail", "-c"] before it`)
	}
}

func posixShell(sh []string) bool {
	if len(sh) == 0 {
		return true
	}
	switch path.Base(sh[0]) {
	case "sh", "bash", "ash", "dash", "zsh", "ksh":
		return true
	}
	return false
}

func hasPipefail(sh []string) bool {
	for i := 0; i+1 < len(sh); i++ {
		if strings.HasPrefix(sh[i], "-") && strings.HasSuffix(sh[i], "o") && sh[i+1] == "pipefail" {
			return true
		}
	}
	return false
}

func isRemote(src string) bool {
	for _, p := range []string{"http://", "https://", "git@", "git://"} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return false
}

func isArchive(src string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".gz", ".bz2", ".xz"} {
		if strings.HasSuffix(strings.ToLower(src), ext) {
			return true
		}
	}
	return false
}

// lintFinal checks the image the final stage makes.
func lintFinal(f *findings, a *analysis) {
	fin := a.final()
	cfg := fin.config
	switch {
	case cfg.userSet && isRootUser(cfg.user):
		f.add("DL3002", cfg.userLine, "DL3002: the last USER is %s: the container runs as root; switch to an unprivileged numeric user, e.g. USER 10001", cfg.user)
	case !cfg.userSet && !nonRootBase(cfg.external):
		f.add("DL3002", fin.line, "DL3002: the final stage sets no USER, so the container runs as its base image's user, root for most images: add e.g. USER 10001")
	case cfg.userSet && !numericUser(cfg.user):
		f.add("RO002", cfg.userLine, "RO002: USER %s is a name: Kubernetes runAsNonRoot can only verify a numeric UID; use e.g. USER 10001 (or 10001:10001)", cfg.user)
	}
	if cfg.health == nil {
		f.add("DL3057", fin.line, "DL3057: the image has no HEALTHCHECK")
	}
	if !a.multiStage() {
		f.add("RO001", fin.line, "RO001: single-stage build: the image carries everything used to build it; build in a stage (FROM ... AS build) and COPY --from=build only what runs into a small final stage")
	}
	lintContext(f, a)
}

// lintContext checks that COPY and ADD sources from the build context are
// among the submitted files (flat names, so a folder is never there). It
// reports at most maxMissingSources of them.
func lintContext(f *findings, a *analysis) {
	names := make(map[string]bool, len(a.context))
	for _, n := range a.context {
		names[n] = true
	}
	missing := 0
	check := func(line int, instr string, sources []string) {
		for _, src := range sources {
			if missing >= maxMissingSources {
				return
			}
			clean := strings.TrimPrefix(path.Clean("/"+src), "/")
			if clean == "" || clean == "." || names[clean] {
				continue // the whole context, or a submitted file
			}
			found := false
			if strings.ContainsAny(clean, "*?[\\") {
				for _, n := range a.context {
					if ok, _ := path.Match(clean, n); ok {
						found = true
						break
					}
				}
			}
			if !found {
				missing++
				f.add("RO003", line, "RO003: %s %s: no submitted file matches it; submit it with the Dockerfile (files are flat: no folders)", instr, src)
			}
		}
	}
	for _, st := range a.stages {
		for _, cp := range st.cmd.copies {
			if cp.From == "" {
				check(lineOf(cp), "COPY", cp.SourcePaths)
			}
		}
		for _, ad := range st.cmd.adds {
			var local []string
			for _, s := range ad.SourcePaths {
				if !isRemote(s) {
					local = append(local, s)
				}
			}
			check(lineOf(ad), "ADD", local)
		}
	}
}

// maxMissingSources bounds the RO003 findings of one Dockerfile.
const maxMissingSources = 20

func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "root" || name == "0" || name == ""
}

func numericUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	if name == "" {
		return false
	}
	for _, c := range name {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// nonRootBase recognises base images that run as an unprivileged user
// themselves, as their tags say (distroless :nonroot, chainguard).
func nonRootBase(image string) bool {
	_, tag, _ := strings.Cut(path.Base(image), ":")
	tag, _, _ = strings.Cut(tag, "@")
	return tag == "nonroot" || strings.HasSuffix(tag, "-nonroot") || strings.HasPrefix(tag, "nonroot-")
}
