"""Password rules in words people recognise (issue 21), and the password hasher."""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.password_validation import UserAttributeSimilarityValidator


class SimilarityToWhatTheyChose(UserAttributeSimilarityValidator):
    """Django's similarity check, without "too similar to the username" for people who never chose
    one: a lead's username is their e-mail address, so the password is compared with the address
    (and reported as "the email address") rather than with a username they have never seen."""

    def validate(self, password, user=None):
        if user is not None and user.username and user.username == getattr(user, "email", None):
            attributes = tuple(a for a in self.user_attributes if a != "username")
            return UserAttributeSimilarityValidator(attributes, self.max_similarity).validate(password, user)
        return super().validate(password, user)


class TunedArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id (memory-hard) with its cost read from settings.PASSWORD_ARGON2, so that the cost of
    a log-in can be tuned to the machine without a code change (ARGON2_TIME_COST,
    ARGON2_MEMORY_KIB, ARGON2_PARALLELISM). The algorithm name stays "argon2": hashes made with
    other parameters still verify, and Django re-hashes them with today's on the next log-in
    (must_update compares the parameters), as it does for a PBKDF2 hash from before Argon2."""

    @property
    def time_cost(self):
        return settings.PASSWORD_ARGON2["time_cost"]

    @property
    def memory_cost(self):
        return settings.PASSWORD_ARGON2["memory_cost"]

    @property
    def parallelism(self):
        return settings.PASSWORD_ARGON2["parallelism"]
