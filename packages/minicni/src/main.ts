process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', supportedVersions: ['0.1.0', '1.1.0'] }) + '\n');
