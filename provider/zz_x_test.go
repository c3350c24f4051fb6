package provider
import "testing"
func TestTmpX(t *testing.T){ _, m := configProblems(t, `{"name":"g","api_rate_limits":{"ec2":"5/s"}}`); t.Log(m) }
