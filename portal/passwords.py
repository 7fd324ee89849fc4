"""Password rules in words people recognise (issue 21)."""

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
