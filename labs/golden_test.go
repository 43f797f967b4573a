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
	"configmap-rollout":        "c961e9e4662e58adfef2d99e024957a83ba5126bac487b9cf7fc4e1251951957",
	"docker-containerize":      "84cbe4d5b4417be7a814f9f6996dda844400daa0a382fa55cba213403daa1d92",
	"docker-fix-dockerfile":    "cac4bed8440b6b8bcb5e07b2402e8e9224810d85f76117560ee64588704f13d7",
	"docker-image-hygiene":     "5b1d839605216d5ad71d9e22bc63fd07f8600597e156d12c3abd3916c2507c30",
	"docker-release-by-digest": "47882c73d5a4a50ef371c65c6c4a17a209ce52c2533e4a44ed91709fd0a555af",
	"fix-broken-deployment":    "58e66fcd5dc7d40ca89fc18f119fe54256859b04f1754fa83ceee15e1c15eec2",
	"helm-fix-failed":          "e99dff2979d86b7776c688eaeeee7cba0b351fbf3f940bde0aaff9cda40aaa90",
	"helm-install":             "f99b349492908519fe5322990f90bf92218daa4af74eb32f3d5125e99586670b",
	"helm-own-chart":           "56538e0f17c13007872a33975a5ccaafabf761f9b22aea546d2bf5d008744eec",
	"helm-upgrade-rollback":    "a0edfe949ec914a65ac42c447a7f2c974bd7bbb7d874184dc1980a66b1b1a176",
	"scale-and-expose":         "4767ff142d557f3a725b1fd2a1562fdebfbb7c0d2d89f3b8395930a97f470b66",
	"terraform-basics":         "0ba6fc68d5b54c22cc71f64a2363851ed91add166f570304d511f8fa497b82ad",
	"terraform-drift":          "be94a5ddb6c1691118521cdcf519fbc88feb204613e1a92e2d199e2e2a98e5f8",
	"terraform-import":         "baccef72c078d810050cb918969919e2463a1f6bfa4af70f4bda69d18bfa5d20",
	"terraform-variables":      "9b2d96af7bc8e15831c0eca087120b831b39e26113c32073281ac02334aae5cc",
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
