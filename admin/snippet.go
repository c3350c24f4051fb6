package admin

import (
	"fmt"
	"io"
	"strconv"
)

// SnippetOptions are the values of the config.toml snippet setup prints.
type SnippetOptions struct {
	Group    string
	Region   string
	QueueURL string // "" = no interruption queue
	// QueueKey is the plugin_config key for QueueURL; "" = leave it out.
	QueueKey string
	MaxSize  int
	Windows  bool
	Username string // connector username; "" = the AMI default guess
	// ReadyWhen is plugin_config ready_when; "" = leave it out.
	ReadyWhen string
}

// WriteSnippet prints the [runners.autoscaler] part of config.toml.
func WriteSnippet(w io.Writer, o SnippetOptions) {
	q := strconv.Quote
	fmt.Fprintf(w, "  [runners.autoscaler]\n")
	fmt.Fprintf(w, "    plugin = %s\n", q(toolName))
	fmt.Fprintf(w, "    capacity_per_instance = 1\n")
	fmt.Fprintf(w, "    max_instances = %d   # at most the group's MaxSize\n\n", o.MaxSize)
	fmt.Fprintf(w, "    [runners.autoscaler.plugin_config]\n")
	fmt.Fprintf(w, "      name = %s\n", q(o.Group))
	fmt.Fprintf(w, "      region = %s\n", q(o.Region))
	if o.QueueURL != "" && o.QueueKey != "" {
		fmt.Fprintf(w, "      %s = %s\n", o.QueueKey, q(o.QueueURL))
	}
	if o.ReadyWhen != "" {
		fmt.Fprintf(w, "      ready_when = %s\n", q(o.ReadyWhen))
	}
	fmt.Fprintf(w, "\n    [runners.autoscaler.connector_config]\n")
	if o.Windows {
		user := o.Username
		if user == "" {
			user = "Administrator"
		}
		fmt.Fprintf(w, "      os = \"windows\"\n      protocol = \"winrm\"\n")
		fmt.Fprintf(w, "      username = %s\n", q(user))
		fmt.Fprintf(w, "      key_path = \"/etc/gitlab-runner/KEY_PAIR.pem\"   # the launch key pair's private key: decrypts the password\n")
		return
	}
	user := o.Username
	comment := ""
	if user == "" {
		user, comment = "ec2-user", "   # the AMI's login user (ubuntu on Ubuntu AMIs)"
	}
	fmt.Fprintf(w, "      username = %s%s\n", q(user), comment)
	fmt.Fprintf(w, "      use_external_addr = false\n")
}
