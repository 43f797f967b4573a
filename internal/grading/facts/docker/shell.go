package docker

import "strings"

// shellScript is a RUN command split the way the rules need it: simple
// commands (words, quotes removed) separated by ;, &&, ||, |, & and
// newlines, and whether a pipe joins two of them. It is no shell parser
// (hadolint uses ShellCheck's): substitutions and functions are not
// understood, which the rules tolerate.
type shellScript struct {
	commands [][]string
	pipe     bool // a | (not ||) outside quotes
	// pipefailBeforePipe: "set -o pipefail" (or -eo, -euo ...) runs before
	// the first pipe.
	pipefailBeforePipe bool
}

// maxShellWords bounds the words kept from one RUN.
const maxShellWords = 4096

func splitShell(src string) shellScript {
	var (
		s       shellScript
		cur     []string
		word    strings.Builder
		inWord  bool
		quote   byte
		words   int
		sawPipe bool
	)
	endWord := func() {
		if inWord && words < maxShellWords {
			cur = append(cur, word.String())
			words++
		}
		word.Reset()
		inWord = false
	}
	endCommand := func() {
		endWord()
		if len(cur) > 0 {
			if !sawPipe && isSetPipefail(cur) {
				s.pipefailBeforePipe = true
			}
			s.commands = append(s.commands, cur)
		}
		cur = nil
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if quote != 0 {
			switch {
			case c == quote:
				quote = 0
			case c == '\\' && quote == '"' && i+1 < len(src):
				i++
				word.WriteByte(src[i])
			default:
				word.WriteByte(c)
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
			inWord = true
		case '\\':
			if i+1 < len(src) {
				i++
				if src[i] != '\n' {
					word.WriteByte(src[i])
					inWord = true
				} else {
					endWord() // a line continuation separates words
				}
			}
		case ' ', '\t', '\r':
			endWord()
		case '#':
			if !inWord { // a comment runs to the end of the line
				for i+1 < len(src) && src[i+1] != '\n' {
					i++
				}
				continue
			}
			word.WriteByte(c)
		case '\n', ';', '(', ')':
			endCommand()
		case '&':
			endCommand()
			if i+1 < len(src) && src[i+1] == '&' {
				i++
			}
		case '|':
			endCommand()
			if i+1 < len(src) && src[i+1] == '|' {
				i++
			} else {
				s.pipe = true
				sawPipe = true
			}
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	endCommand()
	return s
}

// isSetPipefail recognises set -o pipefail, set -eo pipefail, set -euxo pipefail.
func isSetPipefail(cmd []string) bool {
	if len(cmd) < 3 || cmd[0] != "set" {
		return false
	}
	for i := 1; i+1 < len(cmd); i++ {
		if strings.HasPrefix(cmd[i], "-") && strings.HasSuffix(cmd[i], "o") && cmd[i+1] == "pipefail" {
			return true
		}
	}
	return false
}

// program returns a simple command's program and its arguments, skipping
// variable assignments (DEBIAN_FRONTEND=noninteractive apt-get ...) and
// wrappers (sudo, env, nice, time, exec, command).
func program(cmd []string) (prog string, args []string, sudo bool) {
	for i := 0; i < len(cmd); i++ {
		w := cmd[i]
		switch {
		case isAssignment(w):
			continue
		case w == "sudo":
			sudo = true
			continue
		case w == "env" || w == "nice" || w == "time" || w == "exec" || w == "command" || w == "nohup":
			continue
		}
		if strings.HasPrefix(w, "-") && (i > 0 && (cmd[i-1] == "sudo" || cmd[i-1] == "env")) {
			continue // sudo -E, env -i
		}
		return w, cmd[i+1:], sudo
	}
	return "", nil, sudo
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		nameByte := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !nameByte {
			return false
		}
	}
	return true
}

// aptInstall is one apt-get/apt install in a RUN.
type aptInstall struct {
	packages     []string
	noRecommends bool
	assumeYes    bool
	program      string
}

// aptOptionsWithValue take the next word as their value.
var aptOptionsWithValue = map[string]bool{"-o": true, "-t": true, "-c": true, "--option": true, "--target-release": true, "--config-file": true}

func aptInstalls(s shellScript) (installs []aptInstall, update bool) {
	for _, cmd := range s.commands {
		prog, args, _ := program(cmd)
		if prog != "apt-get" && prog != "apt" {
			continue
		}
		var in *aptInstall
		for i := 0; i < len(args); i++ {
			a := args[i]
			switch {
			case a == "update" && in == nil:
				update = true
			case a == "install" && in == nil:
				in = &aptInstall{program: prog}
			case a == "--no-install-recommends":
				if in != nil {
					in.noRecommends = true
				}
			case aptOptionsWithValue[a] && i+1 < len(args):
				i++
				if in != nil && a == "-o" && strings.EqualFold(args[i], "APT::Install-Recommends=false") {
					in.noRecommends = true
				}
			case strings.HasPrefix(a, "-"):
				if in != nil && (a == "-y" || a == "--yes" || a == "-qy" || a == "-yq" || a == "--assume-yes") {
					in.assumeYes = true
				}
			case in != nil:
				in.packages = append(in.packages, a)
			}
		}
		if in != nil {
			installs = append(installs, *in)
		}
	}
	return installs, update
}

// removesAptLists reports whether the script removes /var/lib/apt/lists.
func removesAptLists(s shellScript) bool {
	for _, cmd := range s.commands {
		prog, args, _ := program(cmd)
		if prog != "rm" {
			continue
		}
		for _, a := range args {
			if strings.HasPrefix(a, "/var/lib/apt/lists") {
				return true
			}
		}
	}
	return false
}
