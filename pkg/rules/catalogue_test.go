package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

func TestCatalogueCodesAreStableUniqueAndDocumented(t *testing.T) {
	codeRE := regexp.MustCompile(`^KON[12][0-9]{3}$`) // KON2xxx: the Gateway API path
	seen := map[string]bool{}
	var order []string
	for _, r := range Catalogue() {
		if !codeRE.MatchString(r.Code) {
			t.Errorf("%s: code does not match %s", r.Code, codeRE)
		}
		if seen[r.Code] {
			t.Errorf("%s: duplicate code", r.Code)
		}
		seen[r.Code] = true
		order = append(order, r.Code)
		if r.Severity != SeverityDeny && r.Severity != SeverityWarn {
			t.Errorf("%s: severity %q", r.Code, r.Severity)
		}
		if r.Strict && r.Severity != SeverityWarn {
			t.Errorf("%s: a strict rule must warn by default", r.Code)
		}
		if r.Title == "" || r.Hint == "" || len(r.Kinds) == 0 || (r.Check == nil) == (r.CheckUpdate == nil) {
			t.Errorf("%s: title, hint, kinds and one of check or update check are required", r.Code)
		}
	}
	if !sort.StringsAreSorted(order) {
		t.Errorf("catalogue not in code order: %v", order)
	}
	if _, ok := RuleByCode("KON1001"); !ok {
		t.Error("RuleByCode(KON1001) not found")
	}
}

// Every rule must have a test that makes it fire; the test names carry the
// codes.
func TestEveryRuleHasATestThatMakesItFire(t *testing.T) {
	src := ""
	files, _ := filepath.Glob("*_test.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src += string(b)
	}
	for _, r := range Catalogue() {
		if !regexp.MustCompile(`want: \[\]string\{[^}]*"` + r.Code + `"`).MatchString(src) {
			t.Errorf("%s: no test case expects it", r.Code)
		}
	}
}

func TestValidatedKindsCoverEveryRuleKind(t *testing.T) {
	kinds := map[string]bool{}
	for _, gk := range ValidatedKinds() {
		kinds[gk.String()] = true
	}
	for _, r := range Catalogue() {
		for _, gk := range r.Kinds {
			if !kinds[gk.String()] {
				t.Errorf("%s: kind %s missing from ValidatedKinds", r.Code, gk)
			}
		}
	}
}
