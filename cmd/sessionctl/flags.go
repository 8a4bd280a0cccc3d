package main

import (
	"context"
	"flag"
	"io"
	"strings"
)

// command is one subcommand of sessionctl.
type command struct {
	// usage is its help text, printed by `sessionctl help NAME` and -h.
	usage string
	// offline commands need no server and build no client.
	offline bool
	// bind registers the command's flags on fs and returns what runs it
	// with its positional arguments, once fs is parsed.
	bind func(a *app, fs *flag.FlagSet) func(ctx context.Context, args []string) error
}

// commands is filled by init to break the cycle through help.
var commands map[string]*command

func init() {
	commands = map[string]*command{
		"list":          {usage: listUsage, bind: (*app).bindList},
		"get":           {usage: getUsage, bind: (*app).bindGet},
		"revoke":        {usage: revokeUsage, bind: (*app).bindRevoke},
		"revoke-user":   {usage: revokeUserUsage, bind: (*app).bindRevokeUser},
		"revoke-tenant": {usage: revokeTenantUsage, bind: (*app).bindRevokeTenant},
		"stats":         {usage: statsUsage, bind: (*app).bindStats},
		"audit":         {usage: auditUsage, bind: (*app).bindAudit},
		"policy":        {usage: policyUsage, bind: (*app).bindPolicy},
		"receivers":     {usage: receiversUsage, bind: (*app).bindReceivers},
		"watch":         {usage: watchUsage, bind: (*app).bindWatch},
		"version":       {usage: versionUsage, offline: true, bind: (*app).bindVersion},
		"help":          {usage: helpUsage, offline: true, bind: (*app).bindHelp},
	}
}

// newFlagSet returns a flag set that reports errors instead of printing
// them: flag's own usage output would show defaults, and the messages are
// printed once, redacted, by app.fail.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterspersed parses flags anywhere among the positional arguments
// (`revoke-tenant T --yes` as well as `revoke-tenant --yes T`); everything
// after "--" is positional. It returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageErrorf("%s", strings.TrimPrefix(err.Error(), "flag: "))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(args []string, n int, what string) error {
	switch {
	case len(args) < n:
		return usageErrorf("missing %s", what)
	case len(args) > n:
		return usageErrorf("unexpected argument %q", args[n])
	}
	return nil
}

// splitList splits a comma separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
