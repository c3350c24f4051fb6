package awssim_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func TestEC2KeyPairs(t *testing.T) {
	c := newBSim(t, awssim.Options{})
	ctx := bCtx(t)

	t.Run("create rsa and ed25519", func(t *testing.T) {
		for _, kt := range []types.KeyType{types.KeyTypeRsa, types.KeyTypeEd25519} {
			out, err := c.ec2.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k-" + string(kt)), KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			signer, err := ssh.ParsePrivateKey([]byte(aws.ToString(out.KeyMaterial)))
			if err != nil {
				t.Fatalf("%s key material: %v", kt, err)
			}
			wantType := map[types.KeyType]string{types.KeyTypeRsa: ssh.KeyAlgoRSA, types.KeyTypeEd25519: ssh.KeyAlgoED25519}[kt]
			if signer.PublicKey().Type() != wantType || !strings.HasPrefix(aws.ToString(out.KeyPairId), "key-") || aws.ToString(out.KeyFingerprint) == "" {
				t.Fatalf("%s: %+v", kt, out)
			}
		}
		_, err := c.ec2.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k-rsa")})
		wantAPIError(t, err, "InvalidKeyPair.Duplicate", "The keypair 'k-rsa' already exists.")
	})

	t.Run("import", func(t *testing.T) {
		edPub, _, _ := ed25519.GenerateKey(rand.Reader)
		sshPub, _ := ssh.NewPublicKey(edPub)
		der, _ := x509.MarshalPKIXPublicKey(edPub)
		tests := []struct {
			name     string
			material []byte
			code     string
		}{
			{"openssh", ssh.MarshalAuthorizedKey(sshPub), ""},
			{"pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), ""},
			{"garbage", []byte("ssh-rsa not-a-key"), "InvalidKey.Format"},
		}
		for _, tc := range tests {
			out, err := c.ec2.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("imp-" + tc.name), PublicKeyMaterial: tc.material})
			if tc.code != "" {
				wantAPIError(t, err, tc.code, "Key is not in valid OpenSSH public key format")
				continue
			}
			if err != nil || aws.ToString(out.KeyName) != "imp-"+tc.name {
				t.Fatalf("%s: %v %+v", tc.name, err, out)
			}
		}
	})

	t.Run("describe", func(t *testing.T) {
		out, err := c.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
		if err != nil || len(out.KeyPairs) != 4 {
			t.Fatalf("all: %v, %d pairs", err, len(out.KeyPairs))
		}
		out, err = c.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
			Filters:          []types.Filter{{Name: aws.String("key-type"), Values: []string{"ed25519"}}, {Name: aws.String("key-name"), Values: []string{"imp-*"}}},
			IncludePublicKey: aws.Bool(true),
		})
		if err != nil || len(out.KeyPairs) != 2 {
			t.Fatalf("filtered: %v, %+v", err, out)
		}
		for _, kp := range out.KeyPairs {
			if !strings.HasPrefix(aws.ToString(kp.PublicKey), "ssh-ed25519 ") || kp.KeyType != types.KeyTypeEd25519 || kp.CreateTime == nil {
				t.Fatalf("pair %+v", kp)
			}
		}
		_, err = c.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"nope"}})
		wantAPIError(t, err, "InvalidKeyPair.NotFound", "The key pair 'nope' does not exist")
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := c.ec2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("imp-pem")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ec2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("never-existed")}); err != nil {
			t.Fatalf("deleting an unknown key pair succeeds on EC2: %v", err)
		}
		_, err := c.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"imp-pem"}})
		wantAPIError(t, err, "InvalidKeyPair.NotFound", "")
	})

	t.Run("go api", func(t *testing.T) {
		priv, err := c.sim.CreateKeyPair("go-created")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ssh.ParsePrivateKey(priv); err != nil {
			t.Fatal(err)
		}
		signer, _ := ssh.ParsePrivateKey(priv)
		if err := c.sim.ImportKeyPair("go-imported", ssh.MarshalAuthorizedKey(signer.PublicKey())); err != nil {
			t.Fatal(err)
		}
		if err := c.sim.ImportKeyPair("go-imported", ssh.MarshalAuthorizedKey(signer.PublicKey())); err == nil {
			t.Fatal("duplicate import succeeded")
		}
	})
}
