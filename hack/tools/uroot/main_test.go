package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// What Tekton runs with sh: place-scripts' `sh -c` writing a script with a
// quoted heredoc, then the script itself (#!/bin/sh, set -e) with args.
func TestTektonScripts(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script-0-abcd")
	place := `scriptfile="` + script + `"
cat > ${scriptfile} << '_EOF_'
#!/bin/sh
set -e
echo "hello $1 from $0"
cat <<EOT
sum $((1+2))
EOT
if [ "$2" = fail ]; then false; fi
echo done
_EOF_
echo placed`
	if out, code := sh(t, "", "-c", place); code != 0 || out != "placed\n" {
		t.Fatalf("place-scripts: exit %d, output %q", code, out)
	}
	if out, code := sh(t, "", script, "lab"); code != 0 || out != "hello lab from "+script+"\nsum 3\ndone\n" {
		t.Errorf("script: exit %d, output %q", code, out)
	}
	if out, code := sh(t, "", script, "lab", "fail"); code != 1 || strings.Contains(out, "done") {
		t.Errorf("set -e: exit %d, output %q; want 1 before done", code, out)
	}
}

func TestArgs(t *testing.T) {
	for _, c := range []struct {
		args  []string
		stdin string
		out   string
		code  int
	}{
		{[]string{"-c", `echo "$0 $1 $#"`, "name", "a", "b"}, "", "name a 2\n", 0},
		{[]string{"-ec", "false; echo no"}, "", "", 1},
		{[]string{"-c", "exit 3"}, "", "", 3},
		{[]string{"-c", "if"}, "", "", 2},
		{[]string{"-c"}, "", "", 2},
		{[]string{"-o"}, "", "", 2},
		{[]string{"/no/such/script"}, "", "", 127},
		{nil, "echo from stdin", "from stdin\n", 0},
		{[]string{"-c", "no-such-command-xyz"}, "", "", 127},
	} {
		if out, code := sh(t, c.stdin, c.args...); out != c.out || code != c.code {
			t.Errorf("sh %q: exit %d, output %q; want %d, %q", c.args, code, out, c.code, c.out)
		}
	}
}

func sh(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	if code != 0 && errOut.Len() == 0 && code != 1 && code != 3 {
		t.Errorf("sh %q: exit %d without a message", args, code)
	}
	return out.String(), code
}
