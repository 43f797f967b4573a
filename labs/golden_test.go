package labs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// catalogGolden is, per exercise, the SHA-256 of the Exercise the catalog
// renders, as JSON (spec, starter objects and files, instructions, labels).
// It was computed on main before the catalog's files were reorganised
// (shared starter files stored once, grading cases as data), and pins that
// learners see the same exercises, byte for byte. A deliberate change to
// an exercise updates its line: go test ./labs -run TestCatalogGolden -v
// prints the new hashes.
var catalogGolden = map[string]string{
	"cicd-build-push":          "39335f33b2a683dfb12c14cc15d065e2d482dc4721c7030a0ce8e82ef6013ac1",
	"cicd-deploy":              "d47288132d05d85db8b88199b091f43d2e3ab0ef5d338ad2bca6a54921cde0a3",
	"cicd-gate":                "8de49100ef9663ad744b8b897926f27cf86cb97a4e8415c39b82d55b076ec8cb",
	"cicd-test-pipeline":       "b68ea5bc286aadf869409711f549d504fd5f77df0714eaf466482f30ffd1fe76",
	"configmap-rollout":        "c961e9e4662e58adfef2d99e024957a83ba5126bac487b9cf7fc4e1251951957",
	"docker-containerize":      "84cbe4d5b4417be7a814f9f6996dda844400daa0a382fa55cba213403daa1d92",
	"docker-fix-dockerfile":    "476682f6cd0961067d8e05757a05f549920cf23b87935231ebd354cc9b8deae7",
	"docker-image-hygiene":     "5b1d839605216d5ad71d9e22bc63fd07f8600597e156d12c3abd3916c2507c30",
	"docker-release-by-digest": "47882c73d5a4a50ef371c65c6c4a17a209ce52c2533e4a44ed91709fd0a555af",
	"fix-broken-deployment":    "58e66fcd5dc7d40ca89fc18f119fe54256859b04f1754fa83ceee15e1c15eec2",
	"helm-fix-failed":          "9610f36bf384097413d40adc011a86017a99b52a469d901ed5bade9034a2c2ab",
	"helm-install":             "f99b349492908519fe5322990f90bf92218daa4af74eb32f3d5125e99586670b",
	"helm-own-chart":           "56538e0f17c13007872a33975a5ccaafabf761f9b22aea546d2bf5d008744eec",
	"helm-upgrade-rollback":    "327718633e582b4d399c616f1d239065e45337e54e89976d80b670f3387ad8c8",
	"scale-and-expose":         "4767ff142d557f3a725b1fd2a1562fdebfbb7c0d2d89f3b8395930a97f470b66",
	"terraform-basics":         "72fe370712149df650435a3a77b857f16dbb9b1b7c88d6c16d2c582cf4d8578b",
	"terraform-drift":          "12f47a6298d121247e924e289f09dbf4ec117e52080a5f9dd2d86d9a118de007",
	"terraform-import":         "54ec3579e1796f64cde3ab12e8ec9f20516c4648c40446ac2d7ba9182a24dde1",
	"terraform-variables":      "9431703555c1775323ddccfb0b2def8d72f250ac752e08da2f804287c89f2e47",
}

func TestCatalogGolden(t *testing.T) {
	all := mustCatalog(t)
	if len(all) != len(catalogGolden) {
		t.Errorf("%d exercises, %d golden hashes", len(all), len(catalogGolden))
	}
	for _, ex := range all {
		data, err := json.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		got := hex.EncodeToString(sum[:])
		if got != catalogGolden[ex.Name] {
			t.Errorf("%s: the rendered Exercise changed: %q: %q,", ex.Name, ex.Name, got)
		}
	}
}
