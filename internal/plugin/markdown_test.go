package plugin

import (
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	cases := []struct {
		name, in, want string
		width          int
	}{
		{"heading levels", "# Title\n## Sub\n### Small\ntext", "Title\n═════\n\nSub\n───\n\nSmall\n\ntext\n", 80},
		{"paragraph joins and wraps", "one two\nthree four five six", "one two three four\nfive six\n", 20},
		{"inline", "**bold** and *em* and `code` and [a link](http://x) and ![img](i.png)", "bold and em and `code` and a link (http://x) and [image: img] (i.png)\n", 100},
		{"autolink text", "[http://x](http://x)", "http://x\n", 80},
		{"underscores in names stay", "my_var_name and snake_case", "my_var_name and snake_case\n", 80},
		{"code span protects markup", "run `a **b** [c](d)` now", "run `a **b** [c](d)` now\n", 80},
		{"fenced code is verbatim", "```yaml\nkey:   value\n  nested: **x**\n```\nafter", "    key:   value\n      nested: **x**\n\nafter\n", 80},
		{"bullets and nesting", "- one\n- two\n  - inner", "  • one\n  • two\n    • inner\n", 80},
		{"ordered with continuation", "1. first\n   more\n2. second", "  1. first more\n  2. second\n", 80},
		{"quote", "> a\n> b", "│ a b\n", 80},
		{"rule", "a\n\n---\n\nb", "a\n\n────────────────────────────────────────\n\nb\n", 80},
		{"table verbatim", "| a | b |\n|---|---|", "| a | b |\n|---|---|\n", 80},
		{"long word", "short averyveryverylongword end", "short\naveryveryverylongword\nend\n", 20},
		{"crlf", "a\r\nb", "a b\n", 80},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := renderMarkdown(c.in, c.width, style(false)); got != c.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, c.want)
			}
		})
	}
}

func TestRenderMarkdownColor(t *testing.T) {
	got := renderMarkdown("# T\n\n**b** `c`", 80, style(true))
	for _, want := range []string{"\x1b[1mT\x1b[0m", "\x1b[1mb\x1b[0m", "\x1b[36mc\x1b[0m"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "`") || strings.Contains(got, "**") {
		t.Errorf("markers left in colored output: %q", got)
	}
}

func TestWrapCountsVisibleWidth(t *testing.T) {
	st := style(true)
	lines := wrap(st.bold("aaaa")+" "+st.bold("bbbb")+" cccc", 9)
	if len(lines) != 2 || visibleLen(lines[0]) != 9 {
		t.Errorf("wrap with escapes: %q", lines)
	}
}
