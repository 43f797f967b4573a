// Command testpkgs prints the packages of one test category, one per line,
// for make test-unit, test-integration and test-e2e:
//
//	go run ./hack/testpkgs unit|integration|e2e
//
// Every package of the module that has tests is in exactly one category, so
// a new package lands in one without being listed anywhere (see classify).
package main

import (
	"fmt"
	"os"
	"slices"
)

func main() {
	if len(os.Args) != 2 || !slices.Contains(categories, category(os.Args[1])) {
		fmt.Fprintf(os.Stderr, "usage: testpkgs %v\n", categories)
		os.Exit(2)
	}
	byCategory, err := classifyModule()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testpkgs:", err)
		os.Exit(1)
	}
	for _, pkg := range byCategory[category(os.Args[1])] {
		fmt.Println(pkg)
	}
}
