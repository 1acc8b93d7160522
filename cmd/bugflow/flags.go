package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// flagDoc is what a command's help says about one flag.
type flagDoc struct {
	name, arg, env, def, usage string
}

// command is one subcommand's flag set together with its help text, so that
// "bugflow CMD --help" prints exactly the flags CMD takes.
type command struct {
	fs       *flag.FlagSet
	synopsis string // the usage line, e.g. "bugflow serve [flags]"
	about    string // what the command does, one paragraph
	flags    []flagDoc
}

func newCommand(name, synopsis, about string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print the whole flag list on every mistake;
	// errors are reported in one line by the caller instead.
	fs.SetOutput(io.Discard)
	return &command{fs: fs, synopsis: synopsis, about: about}
}

// stringVar defines --name. Its value comes from the flag, else from the
// environment variable env (none when env is ""), else def. arg names the
// value in the help.
func (c *command) stringVar(p *string, name, arg, env, def, usage string) {
	c.fs.StringVar(p, name, envOr(env, def), usage)
	c.flags = append(c.flags, flagDoc{name: name, arg: arg, env: env, def: def, usage: usage})
}

// boolVar defines the switch --name. It is off unless given, or unless the
// environment variable env (none when env is "") is true; a variable that is
// not a boolean is an error.
func (c *command) boolVar(p *bool, name, env, usage string) error {
	def, err := envBool(env)
	if err != nil {
		return err
	}
	c.fs.BoolVar(p, name, def, usage)
	c.flags = append(c.flags, flagDoc{name: name, env: env, usage: usage})
	return nil
}

// parse reads args. It returns flag.ErrHelp as is for --help, and any other
// mistake as an error that names the command.
func (c *command) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return c.usageError("%v", err)
	}
	return nil
}

// usageError is a mistake in the arguments of c, pointing at its help.
func (c *command) usageError(format string, args ...any) error {
	name := c.fs.Name()
	return fmt.Errorf("%s: %s (run 'bugflow %s --help')", name, fmt.Sprintf(format, args...), name)
}

// usageExit ends a command whose arguments were refused: --help prints the
// help on stdout and succeeds, anything else is a usage error.
func (c *command) usageExit(err error, stdout, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(stdout)
		return exitOK
	}
	return fail(stderr, exitUsage, err)
}

// printHelp writes the synopsis, the description and every flag with its
// environment variable and its default, if it has one. Environment values
// are never shown: they may be secrets.
func (c *command) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.synopsis, c.about)
	if len(c.flags) == 0 {
		fmt.Fprintln(w, "\nNo flags.")
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	fromEnv := false
	for _, f := range c.flags {
		head := "--" + f.name
		if f.arg != "" {
			head += " " + f.arg
		}
		var notes []string
		if f.env != "" {
			notes = append(notes, "env "+f.env)
			fromEnv = true
		}
		if f.def != "" {
			notes = append(notes, "default "+f.def)
		}
		fmt.Fprintf(w, "  %s\n        %s", head, f.usage)
		if len(notes) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(notes, ", "))
		}
		fmt.Fprintln(w)
	}
	if fromEnv {
		fmt.Fprintln(w, "\nA flag wins over its environment variable.")
	}
}

// envOr is the value of the environment variable name, or def when it is
// unset, empty or name is "".
func envOr(name, def string) string {
	if name == "" {
		return def
	}
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
