export declare const SOURCE_BUNDLE: Readonly<{
  bundle: true;
  platform: 'node';
  format: 'esm';
  target: 'node20';
  conditions: string[];
}>;
