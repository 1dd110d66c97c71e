package commands

import (
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"
)

// The help hsp prints: urfave/cli's layout, with the exit codes and the
// environment at the end of the top-level help, flag defaults only where
// they say something, and the `help` and `version` commands.

func init() {
	cli.FlagStringer = flagString
	cli.VersionPrinter = func(c *cli.Context) { printVersion(c) }
}

// customize finishes the app: templates, the help and version commands.
func customize(app *cli.App) {
	app.CustomAppHelpTemplate = appHelpTemplate
	app.Commands = append(app.Commands, versionCommand(), helpCommand())
	app.Flags = append(app.Flags, cli.HelpFlag) // urfave/cli adds it only without a help command
	forEachCommand(app.Commands, func(c *cli.Command) {
		if c.Description == "" {
			c.Description = exitStatusHelp
		}
	})
}

// helpCommand is `hsp help [COMMAND...]`.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:        "help",
		Usage:       "show the help of hsp or of a command",
		ArgsUsage:   "[COMMAND [SUBCOMMAND]]",
		Description: exitStatus(ExitOK, ExitUsage),
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return cli.ShowAppHelp(c)
			}
			path, cmd, rest := commandPath(c.App.Commands, args)
			if cmd == nil || len(rest) > 0 {
				return usagef("no command %q; see `hsp --help`", strings.Join(args, " "))
			}
			return c.App.Run(append(append([]string{c.App.Name}, path...), "--help"))
		},
	}
}

var appHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{.HelpName}} [global options] command [command options] [arguments...]

VERSION:
   {{.Version}}

COMMANDS:{{template "visibleCommandCategoryTemplate" .}}

GLOBAL OPTIONS:{{template "visibleFlagTemplate" .}}

` + topExitStatus + `

ENVIRONMENT:
   HSP_HOME        the home, where the daemon keeps its data (default $XDG_DATA_HOME/hsp,
                   else ~/.local/share/hsp)
   HSP_TOKEN_FILE  the token a TCP client presents (--token-file)
   HSP_LOG_LEVEL   the daemon's log level (hsp daemon --log-level)
   HSP_TRACE       subsystems the daemon logs everything of (hsp daemon --trace)
   HSP_BOOTSTRAP   the DHT nodes to join through, HOST:PORT,... or none (--bootstrap)
   NO_COLOR        set to anything: no color, even on a terminal

See ` + "`hsp COMMAND --help`" + ` for each command, and ` + "`hsp man`" + ` for the manual page.
`

// topExitStatus is the exit table as the top-level help shows it.
var topExitStatus = strings.Replace(exitStatusHelp, "EXIT STATUS", "EXIT STATUS:", 1)

// flagString renders a flag for the help: "--chunk N  usage", with its
// default only when it says something (never "(default: false)" nor a
// zero that means "not set"), and its environment variables.
func flagString(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return ""
	}
	placeholder, usage := splitPlaceholder(df.GetUsage())
	if df.TakesValue() && placeholder == "" {
		placeholder = "value"
	}
	names := make([]string, 0, len(df.Names()))
	for _, n := range df.Names() {
		names = append(names, dashes(n)+n)
	}
	s := strings.Join(names, ", ")
	if df.TakesValue() {
		s += " " + placeholder
	}
	if def := flagDefault(f); def != "" {
		usage += " (default: " + def + ")"
	}
	if env := df.GetEnvVars(); len(env) > 0 {
		usage += " [$" + strings.Join(env, ", $") + "]"
	}
	return s + "\t" + usage
}

func dashes(name string) string {
	if len(name) == 1 {
		return "-"
	}
	return "--"
}

// splitPlaceholder takes the `NAME` out of a flag's usage.
func splitPlaceholder(usage string) (string, string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}

// flagDefault is the default the help shows: the flag's DefaultText when
// set, else its value unless that is a zero value.
func flagDefault(f cli.Flag) string {
	if v := reflect.ValueOf(f); v.Kind() == reflect.Pointer {
		if dt := v.Elem().FieldByName("DefaultText"); dt.IsValid() && dt.String() != "" {
			return dt.String()
		}
	}
	df, ok := f.(cli.DocGenerationFlag)
	if !ok || !df.TakesValue() {
		return ""
	}
	switch def := df.GetDefaultText(); def {
	case "", "0", `""`, "0s", "false", "[]":
		return ""
	default:
		return def
	}
}
