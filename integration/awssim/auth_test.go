package awssim_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestAuthUnsignedAndMalformed(t *testing.T) {
	s := newASim(t, awssim.Options{})
	cfg := aConfig(s, aKey, aSecret)
	cfg.Credentials = aws.AnonymousCredentials{}
	_, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(aCtx(t), &autoscaling.DescribeAutoScalingGroupsInput{})
	aAPIError(t, err, "MissingAuthenticationToken", "Request is missing Authentication Token")

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL(), strings.NewReader("Action=DescribeAutoScalingGroups&Version=2011-01-01"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=garbage")
	resp, err := http.DefaultClient.Do(req)
	aNoErr(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>IncompleteSignature</Code>") {
		t.Fatalf("garbled header: %d %s", resp.StatusCode, body)
	}
	// Any well-formed signature is accepted without configured credentials.
	_, err = autoscaling.NewFromConfig(aConfig(s, "AKIDANY", "whatever")).DescribeAutoScalingGroups(aCtx(t), &autoscaling.DescribeAutoScalingGroupsInput{})
	aNoErr(t, err)
}

func TestAuthConfiguredCredentials(t *testing.T) {
	s := newASim(t, awssim.Options{Credentials: map[string]string{aKey: aSecret}})
	ctx := aCtx(t)
	asg := func(key, secret, token string) *autoscaling.Client {
		cfg := aConfig(s, key, secret)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(key, secret, token)
		return autoscaling.NewFromConfig(cfg)
	}
	ec := func(key, secret string) *ec2.Client { return ec2.NewFromConfig(aConfig(s, key, secret)) }

	_, err := asg(aKey, aSecret, "").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"a", "b"}})
	aNoErr(t, err)
	_, err = asg(aKey, aSecret, "session-token").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	aNoErr(t, err)
	_, err = ec(aKey, aSecret).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	aNoErr(t, err)

	for _, tc := range []struct {
		name      string
		call      func() error
		code, msg string
	}{
		{"asg wrong secret", func() error {
			_, err := asg(aKey, "wrong", "").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
			return err
		}, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."},
		{"asg unknown key", func() error {
			_, err := asg("AKIDUNKNOWN", aSecret, "").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
			return err
		}, "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"ec2 wrong secret", func() error {
			_, err := ec(aKey, "wrong").DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}, "SignatureDoesNotMatch", "does not match"},
		{"ec2 unknown key", func() error {
			_, err := ec("AKIDUNKNOWN", aSecret).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}, "AuthFailure", "AWS was not able to validate the provided access credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) { aAPIError(t, tc.call(), tc.code, tc.msg) })
	}

	s.ExpireCredentials(aKey, true)
	_, err = asg(aKey, aSecret, "").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	aAPIError(t, err, "ExpiredToken", "The security token included in the request is expired")
	_, err = ec(aKey, aSecret).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	aAPIError(t, err, "ExpiredToken", "expired")
	s.ExpireCredentials(aKey, false)
	_, err = asg(aKey, aSecret, "").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	aNoErr(t, err)
}
