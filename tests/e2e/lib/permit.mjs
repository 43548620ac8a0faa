// EIP-2612's Permit type (eips.ethereum.org/EIPS/eip-2612), as dapps send it
// to eth_signTypedData_v4.
export const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};
