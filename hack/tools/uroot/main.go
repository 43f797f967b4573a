// Command sh is the /bin/sh of the CI/CD step image (rotation.local/cicd/go),
// which is also Tekton's shell image: a POSIX shell on mvdan.cc/sh's
// interpreter, with u-root's core commands beside it.
//
// u-root's own gosh is not used. v0.14.0's has no -c (Tekton's
// place-scripts runs `sh -c '...'`) and runs a script file whose name does
// not end in "sh" (Tekton's /tekton/scripts/script-0-xxxx) as a command
// line, one line at a time, so heredocs never parse. v0.15.0's runs both,
// but drops the script's arguments ($1 is empty: Tekton passes a step's
// args to its script) and $0 of `sh -c 'cmds' name`.
//
// Usage, as POSIX sh: sh [-eux] [-o opt] -c 'commands' [name [args...]],
// sh [-eux] file [args...], or sh with the script on stdin.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the shell with args and returns its exit status: the script's,
// or 2 for a usage or syntax error, as POSIX shells do.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, command, operands, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, "sh:", err)
		return 2
	}
	var script io.Reader
	name := "sh"
	switch {
	case command:
		script = strings.NewReader(operands[0])
		operands = operands[1:]
		if len(operands) > 0 { // sh -c 'cmds' name args: name is $0
			name, operands = operands[0], operands[1:]
		}
	case len(operands) > 0:
		f, err := os.Open(operands[0])
		if err != nil {
			fmt.Fprintln(stderr, "sh:", err)
			return 127
		}
		defer f.Close()
		script, name, operands = f, operands[0], operands[1:]
	default:
		script = stdin
	}
	prog, err := syntax.NewParser().Parse(script, name)
	if err != nil {
		fmt.Fprintln(stderr, "sh:", err)
		return 2
	}
	runner, err := interp.New(
		interp.StdIO(stdin, stdout, stderr),
		interp.Params(append(append(opts, "--"), operands...)...),
	)
	if err != nil {
		fmt.Fprintln(stderr, "sh:", err)
		return 2
	}
	err = runner.Run(context.Background(), prog)
	if status, ok := interp.IsExitStatus(err); ok {
		return int(status)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sh:", err)
		return 1
	}
	return 0
}

// parseArgs splits the command line into set options (-e, -x, -o pipefail:
// given to the interpreter as `set` would), whether -c was given, and the
// operands. With -c the first operand is the command string.
func parseArgs(args []string) (opts []string, command bool, operands []string, err error) {
	for len(args) > 0 {
		a := args[0]
		if a == "--" || a == "-" {
			args = args[1:]
			break
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		args = args[1:]
		for _, letter := range a[1:] {
			switch letter {
			case 'c':
				command = true
			case 'o':
				if len(args) == 0 {
					return nil, false, nil, fmt.Errorf("%co needs an option name", a[0])
				}
				opts = append(opts, string(a[0])+"o", args[0])
				args = args[1:]
			default:
				opts = append(opts, string(a[0])+string(letter))
			}
		}
	}
	if command && len(args) == 0 {
		return nil, false, nil, fmt.Errorf("-c needs a command string")
	}
	return opts, command, args, nil
}
