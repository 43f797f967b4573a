package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
)

// Argument validators whose errors are usage errors (exit code 2).

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usageErrorf(fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()))
		}
		return usageErrorf(fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args))
	}
	return nil
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf(fmt.Errorf("%s needs %s (got %d arguments); see %s --help", cmd.CommandPath(), names, len(args), cmd.CommandPath()))
		}
		return nil
	}
}

func maxArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErrorf(fmt.Errorf("%s takes at most %s (got %d arguments); see %s --help", cmd.CommandPath(), names, len(args), cmd.CommandPath()))
		}
		return nil
	}
}

func parseSelector(s string) (labels.Selector, error) { return labels.Parse(s) }

// setOutputUsage rewrites -o's help to list the formats this command has.
func setOutputUsage(cmd *cobra.Command, usage string) {
	if f := cmd.Flags().Lookup("output"); f != nil {
		f.Usage = usage
	}
}
