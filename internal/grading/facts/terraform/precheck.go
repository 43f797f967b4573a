package terraform

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// problem is one thing the static pre-check refuses.
type problem struct {
	File    string
	Line    int
	Message string
}

func (p problem) fact() map[string]any {
	return map[string]any{"file": p.File, "line": int64(p.Line), "message": p.Message}
}

// analysis is what the HCL of a submission says, read without running
// anything: the pre-check's problems, and the declared-configuration facts.
type analysis struct {
	problems          []problem
	backendType       string
	secretSuffix      string
	variables         map[string]any
	imports           []any
	requiredProviders map[string]any
}

// fileFunctions read files (or list them) at plan time.
var fileFunctions = map[string]bool{
	"file": true, "fileexists": true, "fileset": true, "filebase64": true, "filemd5": true,
	"filesha1": true, "filesha256": true, "filesha512": true, "filebase64sha256": true,
	"filebase64sha512": true, "templatefile": true,
}

// analyze reads the submitted .tf files (name -> content). Files that do
// not parse are skipped here: terraform init and validate report them, and
// terraform evaluates nothing of a configuration that does not parse.
func analyze(files map[string][]byte, labNamespace string) *analysis {
	a := &analysis{variables: map[string]any{}, imports: []any{}, requiredProviders: map[string]any{}}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		src := files[name]
		if strings.HasSuffix(name, ".tf.json") {
			a.refuse(name, 1, "JSON configuration (.tf.json) is not graded; write HCL in .tf files")
			continue
		}
		if !strings.HasSuffix(name, ".tf") {
			continue
		}
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() || f == nil {
			continue
		}
		body := f.Body.(*hclsyntax.Body)
		a.checkFunctions(name, body)
		for _, b := range body.Blocks {
			a.block(name, src, b, labNamespace)
		}
	}
	return a
}

func (a *analysis) refuse(file string, line int, format string, args ...any) {
	a.problems = append(a.problems, problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (a *analysis) block(file string, src []byte, b *hclsyntax.Block, ns string) {
	line := b.DefRange().Start.Line
	switch b.Type {
	case "terraform":
		for _, inner := range b.Body.Blocks {
			switch inner.Type {
			case "backend":
				a.backend(file, inner)
			case "cloud":
				a.refuse(file, inner.DefRange().Start.Line, "terraform { cloud } is not available in labs; use backend \"kubernetes\"")
			case "required_providers":
				a.requiredProvidersBlock(inner)
			}
		}
	case "provider":
		if len(b.Labels) == 1 && b.Labels[0] == "kubernetes" {
			a.kubeConfig(file, "provider \"kubernetes\"", b.Body, "remove it and export KUBE_CONFIG_PATH instead: the grader supplies the lab kubeconfig")
		}
	case "module":
		a.refuse(file, line, "module %q: module calls are not graded (submissions are flat files); put the resources in the root module", label(b, 0))
	case "data":
		if label(b, 0) == "terraform_remote_state" {
			a.remoteState(file, b, ns)
		}
	case "variable":
		a.variable(src, b)
	case "import":
		imp := map[string]any{"to": "", "id": ""}
		if at, ok := b.Body.Attributes["to"]; ok {
			imp["to"] = sourceText(src, at.Expr.Range())
		}
		if at, ok := b.Body.Attributes["id"]; ok {
			if v, diags := at.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
				imp["id"] = v.AsString()
			} else {
				imp["id"] = sourceText(src, at.Expr.Range())
			}
		}
		a.imports = append(a.imports, imp)
	}
}

func label(b *hclsyntax.Block, i int) string {
	if i < len(b.Labels) {
		return b.Labels[i]
	}
	return ""
}

func (a *analysis) backend(file string, b *hclsyntax.Block) {
	typ := label(b, 0)
	a.backendType = typ
	if typ != "kubernetes" {
		a.refuse(file, b.DefRange().Start.Line, "backend %q is not available in labs; use backend \"kubernetes\" with secret_suffix", typ)
		return
	}
	if at, ok := b.Body.Attributes["secret_suffix"]; ok {
		if v, diags := at.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			a.secretSuffix = v.AsString()
		}
	}
	if at, ok := b.Body.Attributes["config_paths"]; ok {
		a.refuse(file, at.SrcRange.Start.Line, "backend \"kubernetes\": remove config_paths; the grader sets config_path to the lab kubeconfig")
	}
	if at, ok := b.Body.Attributes["config_path"]; ok {
		a.checkPathExpr(file, "backend \"kubernetes\" config_path", at.Expr, false)
	}
	for _, inner := range b.Body.Blocks {
		if inner.Type == "exec" {
			a.refuse(file, inner.DefRange().Start.Line, "backend \"kubernetes\": exec credential plugins are not allowed; the lab kubeconfig has a token")
		}
	}
}

// kubeConfig refuses the kubeconfig-related settings of a kubernetes
// provider or backend configuration body.
func (a *analysis) kubeConfig(file, what string, body *hclsyntax.Body, hint string) {
	for _, name := range []string{"config_path", "config_paths"} {
		if at, ok := body.Attributes[name]; ok {
			a.refuse(file, at.SrcRange.Start.Line, "%s: %s is not allowed; %s", what, name, hint)
		}
	}
	for _, inner := range body.Blocks {
		if inner.Type == "exec" {
			a.refuse(file, inner.DefRange().Start.Line, "%s: exec credential plugins are not allowed; the lab kubeconfig has a token", what)
		}
	}
}

func (a *analysis) remoteState(file string, b *hclsyntax.Block, ns string) {
	line := b.DefRange().Start.Line
	backend := ""
	if at, ok := b.Body.Attributes["backend"]; ok {
		if v, diags := at.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			backend = v.AsString()
		}
	}
	if backend != "kubernetes" {
		a.refuse(file, line, "data \"terraform_remote_state\" %q: only backend = \"kubernetes\" (in your lab namespace) is allowed", label(b, 1))
		return
	}
	at, ok := b.Body.Attributes["config"]
	if !ok {
		return
	}
	obj, ok := at.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		a.refuse(file, at.SrcRange.Start.Line, "data \"terraform_remote_state\" %q: config must be a literal object", label(b, 1))
		return
	}
	for _, item := range obj.Items {
		key, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() || key.Type() != cty.String || !key.IsKnown() || key.IsNull() {
			continue
		}
		kline := item.KeyExpr.Range().Start.Line
		switch k := key.AsString(); k {
		case "config_path", "config_paths", "exec", "in_cluster_config", "host", "token", "client_certificate", "client_key":
			a.refuse(file, kline, "data \"terraform_remote_state\" %q: %s is not allowed; remote state is read with the lab kubeconfig", label(b, 1), k)
		case "namespace":
			v, diags := item.ValueExpr.Value(nil)
			if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() || v.IsNull() || v.AsString() != ns {
				a.refuse(file, kline, "data \"terraform_remote_state\" %q: namespace must be your lab namespace %q", label(b, 1), ns)
			}
		}
	}
}

func (a *analysis) requiredProvidersBlock(b *hclsyntax.Block) {
	for name, at := range b.Body.Attributes {
		entry := map[string]any{"source": "", "version": ""}
		v, diags := at.Expr.Value(nil)
		if !diags.HasErrors() && v.IsKnown() && !v.IsNull() {
			switch {
			case v.Type() == cty.String: // legacy: name = "version"
				entry["version"] = v.AsString()
			case v.Type().IsObjectType():
				for _, k := range []string{"source", "version"} {
					if v.Type().HasAttribute(k) {
						if s := v.GetAttr(k); s.Type() == cty.String && s.IsKnown() && !s.IsNull() {
							entry[k] = s.AsString()
						}
					}
				}
			}
		}
		a.requiredProviders[name] = entry
	}
}

func (a *analysis) variable(src []byte, b *hclsyntax.Block) {
	name := label(b, 0)
	if name == "" {
		return
	}
	v := map[string]any{
		"type": "", "description": "", "hasDefault": false, "default": nil,
		"sensitive": false, "nullable": true, "validations": []any{},
	}
	attrs := b.Body.Attributes
	if at, ok := attrs["type"]; ok {
		v["type"] = sourceText(src, at.Expr.Range())
	}
	if at, ok := attrs["description"]; ok {
		if s, ok := constString(at.Expr); ok {
			v["description"] = s
		}
	}
	if at, ok := attrs["default"]; ok {
		v["hasDefault"] = true
		if val, diags := at.Expr.Value(nil); !diags.HasErrors() {
			v["default"] = ctyToGo(val)
		}
	}
	for _, k := range []string{"sensitive", "nullable"} {
		if at, ok := attrs[k]; ok {
			if val, diags := at.Expr.Value(nil); !diags.HasErrors() && val.Type() == cty.Bool && val.IsKnown() && !val.IsNull() {
				v[k] = val.True()
			}
		}
	}
	var validations []any
	for _, inner := range b.Body.Blocks {
		if inner.Type != "validation" {
			continue
		}
		val := map[string]any{"condition": "", "errorMessage": ""}
		if at, ok := inner.Body.Attributes["condition"]; ok {
			val["condition"] = sourceText(src, at.Expr.Range())
		}
		if at, ok := inner.Body.Attributes["error_message"]; ok {
			if s, ok := constString(at.Expr); ok {
				val["errorMessage"] = s
			} else {
				val["errorMessage"] = sourceText(src, at.Expr.Range())
			}
		}
		validations = append(validations, val)
	}
	if validations != nil {
		v["validations"] = validations
	}
	a.variables[name] = v
}

// checkFunctions refuses file-family function calls whose path could leave
// the module directory.
func (a *analysis) checkFunctions(file string, body *hclsyntax.Body) {
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || !fileFunctions[call.Name] || len(call.Args) == 0 {
			return nil
		}
		what := call.Name + "()"
		a.checkPathExpr(file, what, call.Args[0], true)
		if call.Name == "fileset" && len(call.Args) > 1 {
			a.checkPathExpr(file, what+" pattern", call.Args[1], false)
		}
		return nil
	})
}

// checkPathExpr refuses a path expression that is absolute, home-relative,
// climbs with "..", or (when moduleRelative) is not built from literals and
// path.module / path.root / path.cwd.
func (a *analysis) checkPathExpr(file, what string, e hclsyntax.Expression, moduleRelative bool) {
	line := e.Range().Start.Line
	bad := func(why string) {
		a.refuse(file, line, "%s: %s; use a path relative to the module, like \"${path.module}/index.html\"", what, why)
	}
	parts := []hclsyntax.Expression{e}
	switch x := e.(type) {
	case *hclsyntax.TemplateExpr:
		parts = x.Parts
	case *hclsyntax.TemplateWrapExpr:
		parts = []hclsyntax.Expression{x.Wrapped}
	}
	for i, p := range parts {
		switch x := p.(type) {
		case *hclsyntax.LiteralValueExpr:
			if x.Val.Type() != cty.String || x.Val.IsNull() {
				continue
			}
			s := x.Val.AsString()
			if i == 0 && (strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") || strings.HasPrefix(s, `\`) || (len(s) > 1 && s[1] == ':')) {
				bad(fmt.Sprintf("the absolute path %q is outside the module", s))
				return
			}
			if hasDotDot(s) {
				bad(fmt.Sprintf("%q climbs out of the module with \"..\"", s))
				return
			}
		case *hclsyntax.ScopeTraversalExpr:
			if root := x.Traversal.RootName(); root == "path" {
				continue
			}
			if moduleRelative {
				bad("the path is not a literal relative to path.module")
				return
			}
		default:
			if moduleRelative {
				bad("the path is not a literal relative to path.module")
				return
			}
		}
	}
}

func hasDotDot(s string) bool {
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return true
		}
	}
	return false
}

func constString(e hclsyntax.Expression) (string, bool) {
	v, diags := e.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

func sourceText(src []byte, r hcl.Range) string {
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return string(src[r.Start.Byte:r.End.Byte])
}

// ctyToGo converts a known constant to JSON-like Go values; nil otherwise.
func ctyToGo(v cty.Value) any {
	if !v.IsWhollyKnown() {
		return nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil
	}
	return normalize(out)
}
