package ec2spot

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// fakeSTS answers AssumeRole with fixed credentials and records the form.
type fakeSTS struct {
	mu   sync.Mutex
	form url.Values
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.form = r.PostForm
	f.mu.Unlock()
	if r.PostForm.Get("RoleArn") != "arn:aws:iam::123456789012:role/runner" {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>` +
		`<AccessKeyId>ASIAASSUMED000000000</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>token</SessionToken>` +
		`<Expiration>` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `</Expiration></Credentials>` +
		`<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/runner/ci</Arn><AssumedRoleId>AROA000:ci</AssumedRoleId></AssumedRoleUser>` +
		`</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`))
}

func TestAssumeRole(t *testing.T) {
	// The simulator accepts only the assumed role's credentials.
	s := fastSim(t, awssim.Options{Credentials: map[string]string{"ASIAASSUMED000000000": "assumed-secret"}})
	if err := s.CreateGroup(awssim.GroupSpec{Name: "runners"}); err != nil {
		t.Fatal(err)
	}
	sts := &fakeSTS{}
	srv := httptest.NewServer(sts)
	defer srv.Close()
	// Through the environment: STS has an endpoint of its own.
	t.Setenv("AWS_ENDPOINT_URL", s.URL())
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)

	cfg, err := LoadAWSConfig(testCtx(t), AWSOptions{RetryBackoff: ZeroBackoff, AssumeRole: &AssumeRoleOptions{
		RoleARN: "arn:aws:iam::123456789012:role/runner", ExternalID: "ext-42", SessionName: "ci", Duration: time.Hour,
	}})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGroup(GroupOptions{Name: "runners", Region: cfg.Region, Clients: NewClients(cfg)})
	if _, _, err := g.Refresh(testCtx(t)); err != nil {
		t.Fatalf("describe with the assumed role: %v", err)
	}
	sts.mu.Lock()
	form := sts.form
	sts.mu.Unlock()
	if form.Get("ExternalId") != "ext-42" || form.Get("RoleSessionName") != "ci" || form.Get("DurationSeconds") != "3600" {
		t.Errorf("AssumeRole request %v", form)
	}

	_, err = LoadAWSConfig(testCtx(t), AWSOptions{RetryBackoff: ZeroBackoff, AssumeRole: &AssumeRoleOptions{RoleARN: "arn:aws:iam::123456789012:role/other"}})
	if err == nil || !strings.Contains(err.Error(), "assuming role arn:aws:iam::123456789012:role/other failed (the base identity needs sts:AssumeRole") {
		t.Fatalf("denied role: %v", err)
	}
}

func TestLoadAWSConfigWithoutRegion(t *testing.T) {
	fastSim(t, awssim.Options{})
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	_, err := LoadAWSConfig(testCtx(t), AWSOptions{})
	if !errors.Is(err, ErrNoRegion) {
		t.Fatalf("no region: %v", err)
	}
	cfg, err := LoadAWSConfig(testCtx(t), AWSOptions{Region: "us-east-1", RetryMode: "adaptive", RetryMaxAttempts: 7})
	if err != nil || cfg.Region != "us-east-1" || cfg.Retryer().MaxAttempts() != 7 {
		t.Fatalf("configured: %v, %v", cfg.Region, err)
	}
}
