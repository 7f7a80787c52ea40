"""The seed's FastAPI app, its /login and /register gone: Sesame signs users in, and
this service only checks the tokens Sesame issues, against Sesame's published keys.

    SESAME_URL=https://auth.example.com uvicorn app:app

The checks are the ones RFC 9068 asks of a resource server: the signature with a key
from the JWKS (refetched when an unknown `kid` shows up, at most once a minute), the
algorithm pinned (an HS256 token signed with the public key is refused), `typ`,
`iss`, `aud` and `exp`.
"""
import os

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

SESAME_URL = os.environ.get("SESAME_URL", "http://127.0.0.1:8080").rstrip("/")
ISSUER = os.environ.get("SESAME_ISSUER", SESAME_URL)
AUDIENCE = os.environ.get("SESAME_AUDIENCE", ISSUER)
ALGORITHM = os.environ.get("SESAME_ALGORITHM", "ES256")

app = FastAPI()
security = HTTPBearer()
# The key set is cached for five minutes (Sesame publishes a new key an hour before it
# signs); an unknown kid refetches it at most once a minute.
keys = jwt.PyJWKClient(
    f"{SESAME_URL}/.well-known/jwks.json",
    lifespan=float(os.environ.get("SESAME_JWKS_LIFESPAN", "300")),
    cooldown_duration=60,
)


def current_user(credentials: HTTPAuthorizationCredentials = Depends(security)) -> dict:
    token = credentials.credentials
    try:
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an access token")
        return jwt.decode(
            token,
            keys.get_signing_key_from_jwt(token).key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            leeway=int(os.environ.get("SESAME_LEEWAY", "30")),
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError:
        raise HTTPException(
            status_code=401,
            detail="Invalid token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


@app.get("/me")
def me(user: dict = Depends(current_user)):
    return {"id": user["sub"], "email": user["email"], "roles": user.get("roles", [])}
