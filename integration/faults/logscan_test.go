package faults_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// secretPatterns catch secrets by shape, whatever their value: key
// material and AWS credentials in the forms the SDK and ssh produce.
var secretPatterns = map[string]*regexp.Regexp{
	"private key":          regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|openssh-key-v1`),
	"AWS secret key":       regexp.MustCompile(`(?i)aws_secret_access_key\s*[=:]\s*\S{8,}`),
	"session token":        regexp.MustCompile(`(?i)x-amz-security-token\s*[=:]\s*\S{8,}`),
	"SigV4 signature":      regexp.MustCompile(`Signature=[0-9a-f]{64}`),
	"Windows PasswordData": regexp.MustCompile(`(?i)"?passwordData"?\s*[=:]\s*"?[A-Za-z0-9+/]{40,}`),
}

// scanSecrets lists every known secret value and every secret-shaped string
// found in logs; empty means clean. Known values shorter than 6 characters
// are ignored (they would match by chance).
func scanSecrets(logs string, known ...string) []string {
	var found []string
	for _, k := range known {
		if len(k) >= 6 && strings.Contains(logs, k) {
			found = append(found, "known secret "+redact(k)+" appears")
		}
	}
	for name, re := range secretPatterns {
		if m := re.FindString(logs); m != "" {
			found = append(found, name+": "+redact(m))
		}
	}
	return found
}

// redact keeps a finding recognisable without repeating the secret.
func redact(s string) string {
	if len(s) <= 8 {
		return "…"
	}
	return s[:4] + "…(" + strconv.Itoa(len(s)) + " chars)"
}

func TestScanSecretsFindsEachKind(t *testing.T) {
	for name, logs := range map[string]string{
		"known value":   `{"msg":"calling","secret":"s3cr3t-value"}`,
		"pem":           "key=-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
		"rsa pem":       "-----BEGIN RSA PRIVATE KEY-----",
		"env dump":      "AWS_SECRET_ACCESS_KEY=abcdefghijklmnop",
		"token header":  "X-Amz-Security-Token: FwoGZXIvYXdzEXAMPLE",
		"signature":     "Authorization: AWS4-HMAC-SHA256 Credential=AKID/..., Signature=" + strings.Repeat("ab", 32),
		"password data": `"PasswordData":"` + strings.Repeat("QUJD", 20) + `"`,
	} {
		if found := scanSecrets(logs, "s3cr3t-value"); len(found) == 0 {
			t.Errorf("%s: not found in %q", name, logs)
		}
	}
	if found := scanSecrets(`{"msg":"requested instances","requested":2,"key_path":"/etc/runner/key"}`, "s3cr3t-value"); len(found) != 0 {
		t.Errorf("clean log flagged: %v", found)
	}
}
