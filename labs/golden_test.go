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
	"docker-containerize":      "f9b2818ae40fb9c290399377448e0ec2f9935708a47b5e84e8bde764660fa469",
	"docker-fix-dockerfile":    "476682f6cd0961067d8e05757a05f549920cf23b87935231ebd354cc9b8deae7",
	"docker-image-hygiene":     "5b1d839605216d5ad71d9e22bc63fd07f8600597e156d12c3abd3916c2507c30",
	"docker-release-by-digest": "7e7ebe8f3dc8bed00d166e22e5d21675abfc5475bbe8397275a5540312ed1fb2",
	"fix-broken-deployment":    "58e66fcd5dc7d40ca89fc18f119fe54256859b04f1754fa83ceee15e1c15eec2",
	"helm-fix-failed":          "9610f36bf384097413d40adc011a86017a99b52a469d901ed5bade9034a2c2ab",
	"helm-install":             "f99b349492908519fe5322990f90bf92218daa4af74eb32f3d5125e99586670b",
	"helm-own-chart":           "56538e0f17c13007872a33975a5ccaafabf761f9b22aea546d2bf5d008744eec",
	"helm-upgrade-rollback":    "327718633e582b4d399c616f1d239065e45337e54e89976d80b670f3387ad8c8",
	"scale-and-expose":         "4767ff142d557f3a725b1fd2a1562fdebfbb7c0d2d89f3b8395930a97f470b66",
	"terraform-basics":         "1125c92e989a9005ed6aa43dcb009ad01d06c727cdd4db62c33c3c957dc9adb7",
	"terraform-drift":          "1d7aa79e7c5c0f204f8e21f70a59c9861ae9f1d9b474bc4c3055bf3c2de6f2db",
	"terraform-import":         "e8df73159851c91d28ec6fcd8899dc8aa020d300b80b30191aa77a2d947322b7",
	"terraform-variables":      "8736a1e5f668734720b80a09a5d4123937dca0de348b26591bf95dfb1fdc025d",
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
