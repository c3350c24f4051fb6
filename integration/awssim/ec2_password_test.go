package awssim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestEC2GetPasswordData(t *testing.T) {
	c := newBSim(t, awssim.Options{PasswordDelay: 4 * time.Minute})
	ctx := bCtx(t)
	keyPEM, err := c.sim.CreateKeyPair("win")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	win := runInstances(t, c, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageWindowsAMD64), InstanceType: types.InstanceTypeM5Large, KeyName: aws.String("win")})[0]
	linux := runInstances(t, c, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String(awssim.ImageLinuxAMD64), KeyName: aws.String("win")})[0]

	passwordData := func(id string) string {
		t.Helper()
		out, err := c.ec2.GetPasswordData(ctx, &ec2.GetPasswordDataInput{InstanceId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.InstanceId) != id || out.Timestamp == nil {
			t.Fatalf("output %+v", out)
		}
		return aws.ToString(out.PasswordData)
	}

	if got := passwordData(win); got != "" {
		t.Fatalf("password data before it is generated: %q", got)
	}
	c.sim.Advance(4*time.Minute + time.Second)
	enc, err := base64.StdEncoding.DecodeString(passwordData(win))
	if err != nil {
		t.Fatal(err)
	}
	//nolint:staticcheck // SA1019: decrypting as clients of GetPasswordData must
	plain, err := rsa.DecryptPKCS1v15(rand.Reader, priv, enc)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := c.sim.Instance(win)
	if string(plain) != inst.Password || inst.Password == "" {
		t.Fatalf("decrypted %q, instance password %q", plain, inst.Password)
	}
	if got := passwordData(linux); got != "" {
		t.Fatalf("linux password data %q", got)
	}
	_, err = c.ec2.GetPasswordData(ctx, &ec2.GetPasswordDataInput{InstanceId: aws.String("i-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "The instance ID 'i-0123456789abcdef0' does not exist")
}
